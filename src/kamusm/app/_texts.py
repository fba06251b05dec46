"""The wizard's own words, in Turkish and English (the library's errors bring their own).

Labels that Kamu SM's own application shows ("Doğrulama Kodu", "Kart Seçiniz", "Yeni PIN Kodu",
"Kalan Süre", "PIN Kodunu Değiştir", "SMS Onay Kodu", "WEB Parola", "Doğrula") are kept as they
are in Turkish.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from kamusm.messages import Language

__all__ = ["TEXTS", "t"]

TEXTS: Final[Mapping[str, Mapping[Language, str]]] = {
    "app.title": {"tr": "Kamu SM e-İmza Uygulaması", "en": "Kamu SM e-signature application"},
    "app.lang_switch": {"tr": "English", "en": "Türkçe"},
    "app.lang_switch_label": {"tr": "Dili değiştir", "en": "Change the language"},
    "app.home": {"tr": "Ana sayfa", "en": "Home"},
    "app.cancel": {"tr": "Vazgeç", "en": "Cancel"},
    "app.next": {"tr": "İleri", "en": "Next"},
    "app.again": {"tr": "Baştan başla", "en": "Start again"},
    "app.working": {
        "tr": "İşlem sürüyor, lütfen bekleyiniz. Bu sayfayı yenileyebilirsiniz.",
        "en": "Working, please wait. You may reload this page.",
    },
    "app.refresh": {"tr": "Yenile", "en": "Reload"},
    "app.remaining": {"tr": "Kalan Süre", "en": "Time left"},
    "app.seconds": {"tr": "saniye", "en": "seconds"},
    "app.time_up": {
        "tr": "Süre doldu. Devam ederseniz yeni bir doğrulama kodu istenecektir.",
        "en": "Time is up. If you go on, a new verification code will be asked for.",
    },
    "app.stale": {
        "tr": "Bu form artık geçerli değil; sayfa güncel hâliyle yeniden gösterildi.",
        "en": "This form is no longer current; the page is shown again as it now stands.",
    },
    "app.busy": {
        "tr": "Süren bir işlem var. Bitmesini bekleyin ya da o işlemden vazgeçin.",
        "en": "An operation is in progress. Wait for it to end or cancel it.",
    },
    "app.no_card": {
        "tr": "Takılı kart bulunamadı. Kartınızı takıp kartları yeniden okuyun.",
        "en": "No card was found. Insert your card and read the cards again.",
    },
    # ---- home ----------------------------------------------------------------------------
    "home.heading": {"tr": "İşlem Seçiniz", "en": "Choose an operation"},
    "home.before": {
        "tr": "Başlamadan önce belge yönetim sisteminizi (DYS) kapatın ve kartınızı takın.",
        "en": "Before you start, close your document management system (DYS) and insert your card.",
    },
    "home.reset_nes": {"tr": "NES PIN Oluşturma/Kilit Çözme", "en": "NES: create or unblock PIN"},
    "home.reset_nes_hint": {
        "tr": "E-İmza kullanan kamu kurum ve kuruluş çalışanları",
        "en": "Staff of public institutions who use an e-signature",
    },
    "home.reset_mm": {
        "tr": "Mali Mühür PIN Oluşturma/Kilit Çözme",
        "en": "Mali Mühür: create or unblock PIN",
    },
    "home.reset_mm_hint": {
        "tr": "E-fatura, e-defter, e-arşiv ve e-irsaliye kullanan mükellefler",
        "en": "Taxpayers who use e-fatura, e-defter, e-arşiv and e-irsaliye",
    },
    "home.method": {"tr": "Onay yöntemi", "en": "How to confirm"},
    "home.method_sms": {
        "tr": "SMS Onay (kayıtlı cep telefonunuza kod gelir)",
        "en": "SMS confirmation (a code to your registered phone)",
    },
    "home.method_web": {
        "tr": "WEB Parola (e-Devlet şifreniz)",
        "en": "Web password (your e-Devlet password)",
    },
    "home.cards": {"tr": "Kartlarım ve PIN Değiştirme", "en": "My cards and PIN change"},
    "home.cards_hint": {
        "tr": "Kartlarınızın PIN durumu, sertifikaları; bildiğiniz PIN'i değiştirme",
        "en": "Your cards' PIN state and certificates; change a PIN you know",
    },
    # ---- reset: verification code --------------------------------------------------------
    "code.heading": {"tr": "Doğrulama Kodu", "en": "Verification code (Doğrulama Kodu)"},
    "code.intro": {
        "tr": "Tarayıcınızda Kamu SM Online İşlemler sayfasında gösterilen {length} haneli "
        "doğrulama kodunu bu kutucuğa yapıştırınız ve İleri butonuna tıklayınız.",
        "en": "Paste the {length}-digit verification code shown on the Kamu SM online "
        "portal page into this box and press Next.",
    },
    "code.expired": {
        "tr": 'Önceki kodun süresi doldu. Online İşlemler sayfasında "Tekrar Kod Al" ile '
        "yeni bir kod alıp buraya giriniz.",
        "en": 'The previous code has expired. Get a new one on the portal page with "Tekrar '
        'Kod Al" and enter it here.',
    },
    "code.sms_limit": {
        "tr": "Bu işlem için izin verilen sayıda SMS onay kodu gönderildi. Online İşlemler "
        'sayfasında "Tekrar Kod Al" ile yeni bir doğrulama kodu alıp buraya giriniz.',
        "en": "This operation has sent as many SMS codes as it allows. Get a new verification "
        'code on the portal page with "Tekrar Kod Al" and enter it here.',
    },
    "code.web_limit": {
        "tr": "Bu işlemde WEB Parola izin verilen sayıda soruldu. Online İşlemler sayfasında "
        '"Tekrar Kod Al" ile yeni bir doğrulama kodu alıp buraya giriniz.',
        "en": "This operation has asked for the web password as many times as it allows. Get "
        'a new verification code on the portal page with "Tekrar Kod Al" and enter it here.',
    },
    "code.warning": {
        "tr": "Doğrulama kodu bir PIN ya da PUK değildir; yalnızca bu uygulamaya girilir.",
        "en": "The verification code is not a PIN or a PUK; it is entered only here.",
    },
    "code.product": {"tr": "İşlem", "en": "Operation"},
    # ---- reset: card ---------------------------------------------------------------------
    "card.heading": {"tr": "Kart Seçimi", "en": "Card selection (Kart Seçimi)"},
    "card.label": {"tr": "Kart Seçiniz", "en": "Choose your card (Kart Seçiniz)"},
    "card.reread": {"tr": "Kartları yeniden oku", "en": "Read the cards again"},
    "card.option": {
        "tr": "{name} — {products} — son kullanma {expiry}",
        "en": "{name} — {products} — expires {expiry}",
    },
    "card.unknown": {"tr": "Sertifikası okunamayan kart {label}", "en": "Card {label}"},
    # ---- reset: new PIN ------------------------------------------------------------------
    "pin.heading": {"tr": "Yeni PIN Kodu", "en": "New PIN (Yeni PIN Kodu)"},
    "pin.new": {"tr": "Yeni PIN Kodu", "en": "New PIN (Yeni PIN Kodu)"},
    "pin.again": {"tr": "Yeni PIN Kodu (Tekrar)", "en": "New PIN again (Yeni PIN Kodu (Tekrar))"},
    "pin.old": {"tr": "Mevcut PIN Kodu", "en": "Current PIN"},
    "pin.submit": {"tr": "PIN Kodunu Değiştir", "en": "Change the PIN (PIN Kodunu Değiştir)"},
    "pin.keypad": {"tr": "Ekran klavyesi", "en": "On-screen keypad"},
    "pin.keypad_hint": {
        "tr": "Ekran klavyesi seçili alana yazar.",
        "en": "The on-screen keypad types into the selected field.",
    },
    "pin.clear": {"tr": "Temizle", "en": "Clear"},
    "pin.backspace": {"tr": "Sil (son rakam)", "en": "Delete the last digit"},
    "pin.info_heading": {"tr": "Kilit Çözme Bilgilendirme", "en": "Unblocking notes"},
    "pin.info1": {
        "tr": "Akıllı kartınızı bilgisayarınıza takınız ve işlem tamamlanana kadar çıkarmayınız.",
        "en": "Insert your smart card and do not remove it until the operation is complete.",
    },
    "pin.info2": {
        "tr": "Seçtiğiniz kart: {card}",
        "en": "The card you chose: {card}",
    },
    "pin.info3": {
        "tr": "PIN kodunuzu en az {min_length}, en fazla {max_length} haneli olacak şekilde "
        "yalnızca rakamlardan oluşturup Yeni PIN Kodu ve Yeni PIN Kodu (Tekrar) alanlarına "
        "giriniz.",
        "en": "Type your new PIN, digits only, at least {min_length} and at most {max_length} "
        "of them, into both fields.",
    },
    "pin.info4": {
        "tr": "Eski PIN kodunuzu yeniden seçebilirsiniz.",
        "en": "You may choose your old PIN again.",
    },
    # ---- reset: confirmation ------------------------------------------------------------
    "confirm.heading_sms": {"tr": "SMS Onay", "en": "SMS confirmation (SMS Onay)"},
    "confirm.heading_web": {"tr": "WEB Parola", "en": "Web password (WEB Parola)"},
    "confirm.sms_intro": {
        "tr": "{phone} numaralı cep telefonunuza gönderilen SMS onay kodunu giriniz.",
        "en": "Enter the SMS confirmation code sent to your mobile phone {phone}.",
    },
    "confirm.web_intro": {
        "tr": "e-Devlet şifrenizi (WEB Parola) giriniz.",
        "en": "Enter your e-Devlet password (WEB Parola).",
    },
    "confirm.sms_label": {"tr": "SMS Onay Kodu", "en": "SMS confirmation code (SMS Onay Kodu)"},
    "confirm.web_label": {"tr": "WEB Parola", "en": "Web password (WEB Parola)"},
    "confirm.attempts": {
        "tr": "Kalan deneme hakkı: {attempts}",
        "en": "Attempts left: {attempts}",
    },
    "confirm.submit": {"tr": "Doğrula", "en": "Confirm (Doğrula)"},
    "confirm.use_web": {"tr": "WEB Parola ile onayla", "en": "Confirm with the web password"},
    "confirm.new_sms_text": {
        "tr": "Doğrulama kodunuz hâlâ geçerli. Yeni bir SMS onay kodu gönderilsin mi?",
        "en": "Your verification code is still valid. Send a new SMS confirmation code?",
    },
    "confirm.new_web_text": {
        "tr": "Doğrulama kodunuz hâlâ geçerli. WEB Parola yeniden sorulsun mu?",
        "en": "Your verification code is still valid. Ask for the web password again?",
    },
    # ``count`` counts the new code (or new asking) offered now.
    "confirm.new_sms_left": {
        "tr": "Bu işlemde, şimdi önerilen dahil, en çok {count} yeni SMS onay kodu istenebilir.",
        "en": "This operation allows {count} more new SMS codes, counting the one offered now.",
    },
    "confirm.new_sms_left.one": {
        "tr": "Bu, bu işlemde istenebilecek son yeni SMS onay kodu.",
        "en": "This is the last new SMS code this operation allows.",
    },
    "confirm.new_web_left": {
        "tr": "Bu işlemde WEB Parola, şimdi önerilen dahil, en çok {count} kez daha sorulabilir.",
        "en": "This operation can ask for the web password {count} more times, counting the "
        "one offered now.",
    },
    "confirm.new_web_left.one": {
        "tr": "Bu işlemde WEB Parola son kez sorulabilir.",
        "en": "This is the last time this operation can ask for the web password.",
    },
    "confirm.new_sms_send": {"tr": "Yeni SMS gönder", "en": "Send a new SMS"},
    "confirm.new_web_send": {"tr": "Yeniden sor", "en": "Ask again"},
    "confirm.new_sms_decline": {
        "tr": "Hayır, işlemi bitir",
        "en": "No, end the operation",
    },
    # ---- reset: success -----------------------------------------------------------------
    "done.heading": {"tr": "İşlem Başarılı", "en": "Done"},
    "done.reset": {
        "tr": "PIN kodunuz başarılı bir şekilde değiştirilmiştir.",
        "en": "Your PIN has been changed successfully.",
    },
    "done.not_reported": {
        "tr": "Kartınız yeni PIN ile kullanılabilir; sonuç portala bildirilemedi.",
        "en": "Your card works with the new PIN; the result could not be reported to the portal.",
    },
    "done.warnings_heading": {
        "tr": "PIN bilgisinin kullanılması ve saklanması ile ilgili uyarıların tamamı DİKKATLE "
        "okunmalıdır:",
        "en": "Read ALL of these warnings about using and keeping your PIN CAREFULLY:",
    },
    "done.warning1": {
        "tr": "PIN bilgisinin güvenli olarak saklanması kart sahibinin sorumluluğundadır; PIN "
        "hiçbir yere yazılmamalı ve kimseyle paylaşılmamalıdır.",
        "en": "Keeping the PIN safe is the card holder's responsibility: never write it down "
        "or share it.",
    },
    "done.warning2": {
        "tr": "PIN 3 kez hatalı girilirse kart kilitlenir; Online İşlemler sayfasından "
        "PIN Oluşturma/Kilit Çözme ile yeni PIN belirlenir.",
        "en": "Three wrong PINs lock the card; set a new one through the portal's PIN "
        "Oluşturma/Kilit Çözme.",
    },
    "done.warning3": {
        "tr": "AKİS Kart İzleme Aracı üzerinden PUK kodu ile asla işlem yapmayınız: 3 hatalı "
        "PUK denemesi kartı kalıcı olarak kullanılamaz hâle getirir ve kart ücret "
        "karşılığında yenilenir.",
        "en": "Never use a PUK in the AKİS card tool: three wrong PUKs make the card unusable "
        "for good, and it is replaced for a fee.",
    },
    "done.change": {
        "tr": "PIN kodunuz değiştirildi ve yeni PIN ile kart açıldı.",
        "en": "Your PIN was changed and the card opened with the new PIN.",
    },
    # ---- ended ---------------------------------------------------------------------------
    "ended.heading": {"tr": "İşlem tamamlanamadı", "en": "The operation did not finish"},
    "ended.unchanged": {
        "tr": "Kartınızın PIN'i değişmedi.",
        "en": "Your card's PIN was not changed.",
    },
    # ---- cards ---------------------------------------------------------------------------
    "cards.heading": {"tr": "Kartlarım", "en": "My cards"},
    "cards.none": {"tr": "Takılı kart yok.", "en": "No card is inserted."},
    "cards.serial": {"tr": "Kart seri numarası", "en": "Card serial"},
    "cards.holder": {"tr": "Kart sahibi", "en": "Holder"},
    "cards.pin": {"tr": "PIN durumu", "en": "PIN state"},
    "cards.certs": {"tr": "Sertifikalar", "en": "Certificates"},
    "cards.cert_line": {
        "tr": "{kind}, seri {serial}, {start} – {end}",
        "en": "{kind}, serial {serial}, {start} – {end}",
    },
    "cards.no_certs": {"tr": "Sertifika yok", "en": "No certificate"},
    "cards.unreadable": {"tr": "Okunamadı", "en": "Not readable"},
    "cards.change": {"tr": "PIN Değiştir", "en": "Change PIN"},
    "cards.reset": {"tr": "Kilit Çözme", "en": "Unblock"},
    "pin_state.ok": {"tr": "Kullanılabilir", "en": "Usable"},
    "pin_state.count_low": {
        "tr": "Hatalı PIN girilmiş",
        "en": "A wrong PIN was entered",
    },
    "pin_state.final_try": {
        "tr": "Son deneme: bir hatalı girişte kilitlenir",
        "en": "Final try: one more wrong PIN locks it",
    },
    "pin_state.locked": {"tr": "PIN kilitli", "en": "PIN locked"},
    "pin_state.not_initialized": {"tr": "PIN belirlenmemiş", "en": "No PIN set"},
    # ---- change --------------------------------------------------------------------------
    "change.heading": {"tr": "PIN Değiştirme", "en": "PIN change"},
    "change.card": {"tr": "Kart: {card}", "en": "Card: {card}"},
    "change.card_name": {"tr": "{label} (seri no {serial})", "en": "{label} (serial {serial})"},
    "change.final_heading": {"tr": "Son deneme hakkı", "en": "Final try"},
    "change.final_text": {
        "tr": "Bu kartta PIN daha önce hatalı girilmiş: bir hatalı giriş daha kartı kilitler. "
        "Mevcut PIN'inizden emin değilseniz vazgeçip PIN Oluşturma/Kilit Çözme yolunu "
        "kullanın.",
        "en": "A wrong PIN was entered on this card before: one more wrong PIN locks it. If "
        "you are not sure of your current PIN, cancel and use the portal reset instead.",
    },
    "change.final_ack": {
        "tr": "Bir hatalı girişin kartı kilitleyeceğini anladım",
        "en": "I understand that one wrong PIN locks the card",
    },
    "change.final_go": {"tr": "Devam et", "en": "Go on"},
    # ---- refusals of the local server ---------------------------------------------------
    "refused.heading": {"tr": "İstek reddedildi", "en": "Request refused"},
    "refused.token": {
        "tr": "Bu adres yalnızca kamusm app komutunun açtığı pencerede kullanılabilir. "
        "Uygulamayı komutla yeniden başlatın.",
        "en": "This address works only in the window the kamusm app command opened. Start "
        "the application again with the command.",
    },
    "refused.host": {
        "tr": "İstek bu uygulamanın adresine yapılmadı.",
        "en": "The request was not made to this application's address.",
    },
    "refused.origin": {
        "tr": "İstek başka bir siteden geldi; bu uygulama yalnızca kendi sayfalarını kabul eder.",
        "en": "The request came from another site; this application accepts only its own pages.",
    },
    "refused.csrf": {
        "tr": "Formun güvenlik anahtarı eksik ya da yanlış. Sayfayı yenileyip yeniden deneyin.",
        "en": "The form's security key is missing or wrong. Reload the page and try again.",
    },
    "refused.session": {
        "tr": "Uygulama başka bir pencerede açık; aynı anda tek bir oturum kullanılabilir.",
        "en": "The application is open in another window; one session at a time.",
    },
    "refused.bad_request": {"tr": "İstek anlaşılamadı.", "en": "The request is not understood."},
    "refused.not_found": {"tr": "Sayfa bulunamadı.", "en": "Page not found."},
    "refused.error": {"tr": "Beklenmeyen bir hata oluştu.", "en": "An unexpected error occurred."},
}


def t(key: str, lang: Language, /, **fields: object) -> str:
    """The text ``key`` in ``lang`` with ``fields`` filled in."""
    return TEXTS[key][lang].format(**fields)
