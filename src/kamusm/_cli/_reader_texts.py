"""The command line's texts about card readers (``kamusm readers``, the doctor's reader
section, waiting for a card), in Turkish and English. Part of
:data:`kamusm._cli._texts.TEXTS`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from kamusm.messages import Language

__all__ = ["READER_TEXTS"]

_EXTRA_TR = "pip install 'kamusm[pcsc]'"

READER_TEXTS: Final[Mapping[str, Mapping[Language, str]]] = {
    # ---- kamusm readers ----
    "cli.readers.no_extra": {
        "tr": "Kart okuyucuları görmek için kamusm[pcsc] gerekli: " + _EXTRA_TR,
        "en": "Seeing the card readers needs kamusm[pcsc]: " + _EXTRA_TR,
    },
    "cli.readers.none": {"tr": "Kart okuyucu bulunamadı.", "en": "No card reader found."},
    "cli.readers.no_card": {"tr": "kart yok", "en": "no card"},
    "cli.readers.state.busy": {"tr": "başka programda", "en": "held by another program"},
    "cli.readers.state.mute": {"tr": "yanıt vermiyor", "en": "not answering"},
    "cli.readers.state.ready": {"tr": "hazır", "en": "ready"},
    "cli.readers.col.reader": {"tr": "Okuyucu", "en": "Reader"},
    "cli.readers.col.card": {"tr": "Kart", "en": "Card"},
    "cli.readers.col.atr": {"tr": "ATR kodu", "en": "ATR"},
    "cli.readers.col.state": {"tr": "Durum", "en": "State"},
    "cli.help.readers": {
        "tr": "Kart okuyucuları listeler: her birinde kart olup olmadığını, kartın ATR kodunu "
        "ve türünü (AKİS serisi), kartı başka bir programın tutup tutmadığını. Karta hiçbir "
        "komut gönderilmez. kamusm[pcsc] gerekir.",
        "en": "Lists the card readers: whether each has a card, the card's ATR and kind (AKİS "
        "series), and whether another program holds it. No command is sent to the card. "
        "Needs kamusm[pcsc].",
    },
    "cli.short.readers": {
        "tr": "kart okuyucular ve takılı kartlar",
        "en": "card readers and their cards",
    },
    "cli.col.reader": {"tr": "Okuyucu", "en": "Reader"},
    # ---- kamusm doctor ----
    "cli.doctor.readers.no_extra": {
        "tr": "kamusm[pcsc] kurulu değil. Kurulursa doctor kart okuyucuları, her okuyucuda "
        "kart olup olmadığını, kartın AKİS olup olmadığını ve kartı başka bir programın tutup "
        "tutmadığını da gösterir; change-pin ve reset-pin kartın takıldığını anında fark eder: "
        + _EXTRA_TR,
        "en": "kamusm[pcsc] is not installed. With it, doctor also shows the card readers, "
        "whether each has a card, whether it is an AKİS card and whether another program holds "
        "it; change-pin and reset-pin notice at once that the card was inserted: " + _EXTRA_TR,
    },
    "cli.doctor.readers.service.ok": {
        "tr": "Akıllı kart hizmeti çalışıyor ({service}).",
        "en": "The smart-card service is running ({service}).",
    },
    "cli.doctor.readers.service.fix.pcscd": {
        "tr": "pcscd hizmetini başlatın: sudo systemctl start pcscd (kurulu değilse: sudo "
        "apt-get install pcscd).",
        "en": "Start pcscd: sudo systemctl start pcscd (if it is missing: sudo apt-get install "
        "pcscd).",
    },
    "cli.doctor.readers.service.fix.windows": {
        "tr": '"Akıllı Kart" (SCardSvr) hizmetini başlatın: yönetici olarak "sc start '
        'SCardSvr"; okuyucu takılıyken hizmet kendiliğinden de başlar.',
        "en": 'Start the "Smart Card" service (SCardSvr): "sc start SCardSvr" as an '
        "administrator; it also starts by itself while a reader is plugged in.",
    },
    "cli.doctor.readers.service.fix.macos": {
        "tr": "macOS'un akıllı kart hizmeti yerleşiktir: okuyucuyu çıkarıp yeniden takın; "
        "sorun sürerse bilgisayarı yeniden başlatın.",
        "en": "macOS's smart-card service is built in: unplug the reader and plug it in again; "
        "if that does not help, restart the computer.",
    },
    "cli.doctor.readers.none": {"tr": "Kart okuyucu bulunamadı.", "en": "No card reader found."},
    "cli.doctor.readers.none.fix": {
        "tr": "Kart okuyucuyu bilgisayara takın; takılıysa başka bir USB girişi deneyin ve "
        "okuyucunun sürücüsünü kurun.",
        "en": "Plug the card reader in; if it is plugged in, try another USB port and install "
        "the reader's driver.",
    },
    "cli.doctor.readers.ok": {
        "tr": "{count} kart okuyucu bulundu: {names}.",
        "en": "{count} card readers found: {names}.",
    },
    "cli.doctor.readers.ok.one": {
        "tr": "1 kart okuyucu bulundu: {names}.",
        "en": "1 card reader found: {names}.",
    },
    "cli.doctor.reader.busy": {
        "tr": "{reader}: kart başka bir program tarafından tutuluyor.",
        "en": "{reader}: another program holds the card.",
    },
    "cli.doctor.reader.busy.fix": {
        "tr": "DYS'yi ve kartı kullanan diğer programları kapatın, sonra yeniden deneyin.",
        "en": "Close the DYS and any other program using the card, then try again.",
    },
    "cli.doctor.reader.empty": {
        "tr": "{reader}: okuyucuda kart yok.",
        "en": "{reader}: no card in the reader.",
    },
    "cli.doctor.reader.empty.fix": {"tr": "Kartınızı takınız.", "en": "Insert your card."},
    "cli.doctor.reader.mute": {
        "tr": "{reader}: kart yanıt vermiyor.",
        "en": "{reader}: the card does not answer.",
    },
    "cli.doctor.reader.mute.fix": {
        "tr": "Kartı çıkarıp doğru yönde yeniden takın; sorun sürerse başka bir okuyucu deneyin.",
        "en": "Take the card out and insert it again the right way round; if that does not "
        "help, try another reader.",
    },
    "cli.doctor.reader.not_akis": {
        "tr": "{reader}: takılı kart bir AKİS kartı değil (ATR {atr}).",
        "en": "{reader}: the card inserted is not an AKİS card (ATR {atr}).",
    },
    "cli.doctor.reader.not_akis.fix": {
        "tr": "Kamu SM e-imza kartınızı takın (banka ya da kimlik kartını değil).",
        "en": "Insert your Kamu SM e-signature card (not a bank or identity card).",
    },
    "cli.doctor.reader.akis": {
        "tr": "{reader}: {family} takılı (ATR {atr}).",
        "en": "{reader}: {family} inserted (ATR {atr}).",
    },
    # ---- waiting for a card ----
    "cli.wait.insert": {
        "tr": "Kartınızı takınız (kalan süre: {seconds} saniye)",
        "en": "Insert your card (time left: {seconds} seconds)",
    },
    "cli.wait.timeout": {
        "tr": "Kart takılmadı; bekleme süresi doldu. Kartınızı takıp yeniden deneyin.",
        "en": "No card was inserted before the time ran out. Insert your card and try again.",
    },
    "cli.help.opt.wait": {
        "tr": "Kart takılı değilse en çok bu kadar saniye bekler (0: beklemez).",
        "en": "When no card is inserted, wait at most this many seconds for one (0: do not wait).",
    },
}
