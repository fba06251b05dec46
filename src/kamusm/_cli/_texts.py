"""The command line's own texts, in Turkish and English: its prompts, table headings, help
and exit-code meanings. The library's messages (errors, flow prompts, product names) stay in
:mod:`kamusm.messages`; :func:`text` finds a key in either table, so a command can show both.

Templates use ``str.format`` fields, never secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from kamusm._cli._reader_texts import READER_TEXTS
from kamusm.messages import LANGUAGES, MESSAGES, Language

__all__ = ["TEXTS", "text"]

# key -> {language: template}
TEXTS: Final[Mapping[str, Mapping[Language, str]]] = {
    "cli.error": {"tr": "kamusm: hata: {message}", "en": "kamusm: error: {message}"},
    "cli.usage_error": {
        "tr": "kamusm: kullanım hatası: {message} (yardım için: {command} --help)",
        "en": "kamusm: usage error: {message} (for help: {command} --help)",
    },
    "cli.unexpected": {
        "tr": "Beklenmeyen bir hata oluştu ({kind}). Ayrıntılar için --debug ile yeniden "
        "çalıştırın.",
        "en": "An unexpected error occurred ({kind}). Run again with --debug for details.",
    },
    "cli.missing_dependency": {
        "tr": 'Bu komut için {package} paketi gerekli: pip install "kamusm[{extra}]"',
        "en": 'This command needs the {package} package: pip install "kamusm[{extra}]"',
    },
    "cli.softhsm_missing": {
        "tr": "SoftHSM2 kurulu değil: apt-get install softhsm2 (ya da ./scripts/demo).",
        "en": "SoftHSM2 is not installed: apt-get install softhsm2 (or ./scripts/demo).",
    },
    "cli.needs_terminal": {
        "tr": "Bu komut PIN'leri gizli olarak sorar ve bir terminalde çalışmalıdır.",
        "en": "This command asks for PINs without showing them and must run in a terminal.",
    },
    "cli.needs_terminal.pin_stdin": {
        "tr": "Bu komut PIN'leri gizli olarak sorar ve bir terminalde çalışmalıdır; betikler "
        "için --pin-stdin kullanın.",
        "en": "This command asks for PINs without showing them and must run in a terminal; "
        "scripts use --pin-stdin.",
    },
    "cli.no_portal": {
        "tr": "Portal adresi verilmedi: --portal ADRES ya da KAMUSM_PORTAL_URL ortam değişkeni.",
        "en": "No portal address: give --portal URL or the KAMUSM_PORTAL_URL variable.",
    },
    "cli.interrupted": {"tr": "Kesildi.", "en": "Interrupted."},
    "cli.portal_url_invalid": {
        "tr": "Portal adresi geçersiz: https://… biçiminde olmalı (http yalnızca yerel portal "
        "için: 127.0.0.1, ::1, localhost).",
        "en": "The portal address is not valid: use https://… (http only for the local "
        "portal: 127.0.0.1, ::1, localhost).",
    },
    "cli.ca_bundle_invalid": {
        "tr": "CA dosyası okunamadı: {path}",
        "en": "The CA file could not be read: {path}",
    },
    "cli.cancel_hint": {
        "tr": "(Vazgeçmek için Ctrl-C; kartınızda değişiklik yapılmaz.)",
        "en": "(Ctrl-C to stop; your card is not changed.)",
    },
    # PIN states, as the tables show them
    "cli.pin.ok": {"tr": "tamam", "en": "ok"},
    "cli.pin.count_low": {"tr": "hatalı deneme var", "en": "wrong tries made"},
    "cli.pin.final_try": {"tr": "son deneme", "en": "final try"},
    "cli.pin.locked": {"tr": "kilitli", "en": "locked"},
    "cli.pin.not_initialized": {"tr": "PIN yok", "en": "no PIN"},
    "cli.yes": {"tr": "evet", "en": "yes"},
    "cli.no": {"tr": "hayır", "en": "no"},
    # table columns
    "cli.col.serial": {"tr": "Seri No", "en": "Serial"},
    "cli.col.label": {"tr": "Etiket", "en": "Label"},
    "cli.col.pin": {"tr": "PIN durumu", "en": "PIN state"},
    "cli.col.holder": {"tr": "Sahibi", "en": "Holder"},
    "cli.col.products": {"tr": "Ürün", "en": "Products"},
    "cli.col.signing": {"tr": "İmza", "en": "Signing"},
    "cli.col.kind": {"tr": "Tür", "en": "Kind"},
    "cli.col.cert_serial": {"tr": "Sertifika seri no", "en": "Certificate serial"},
    "cli.col.expiry": {"tr": "Son geçerlilik", "en": "Valid until"},
    "cli.col.days_left": {"tr": "Kalan gün", "en": "Days left"},
    "cli.col.qualified": {"tr": "Nitelikli", "en": "Qualified"},
    "cli.card": {"tr": "{label} (seri no {serial})", "en": "{label} (serial {serial})"},
    "cli.certs.title": {
        "tr": "Kart {label} (seri no {serial})",
        "en": "Card {label} (serial {serial})",
    },
    "cli.certs.none": {"tr": "Bu kartta sertifika yok.", "en": "This card holds no certificate."},
    "cli.certs.unreadable": {
        "tr": "Okunamayan sertifika nesnesi ({label})",
        "en": "Unreadable certificate object ({label})",
    },
    "cli.certs.expired": {"tr": "süresi doldu", "en": "expired"},
    # doctor
    "cli.doctor.title": {
        "tr": "kamusm doctor: kart, sürücü ve portal denetimi",
        "en": "kamusm doctor: card, driver and portal checks",
    },
    "cli.doctor.ok": {"tr": "TAMAM", "en": "OK"},
    "cli.doctor.warn": {"tr": "UYARI", "en": "WARN"},
    "cli.doctor.fail": {"tr": "SORUN", "en": "FAIL"},
    "cli.doctor.skip": {"tr": "ATLANDI", "en": "SKIP"},
    "cli.doctor.fix": {"tr": "Çözüm: {fix}", "en": "Fix: {fix}"},
    "cli.doctor.summary.ok": {"tr": "Sorun bulunmadı.", "en": "No problem found."},
    "cli.doctor.summary.problems": {
        "tr": "{count} sorun bulundu.",
        "en": "{count} problems found.",
    },
    "cli.doctor.summary.problems.one": {"tr": "1 sorun bulundu.", "en": "1 problem found."},
    "cli.doctor.module.ok": {
        "tr": "PKCS#11 kütüphanesi yüklendi: {path} ({description}).",
        "en": "PKCS#11 module loaded: {path} ({description}).",
    },
    "cli.doctor.module.fix": {
        "tr": "Kamu SM'nin AKİS kart sürücüsünü bu bilgisayarın mimarisine uygun olarak kurun "
        "ya da --module ile kütüphanenin yolunu verin.",
        "en": "Install Kamu SM's AKİS card driver built for this computer's architecture, or "
        "give the module's path with --module.",
    },
    "cli.doctor.service.ok": {
        "tr": "{service} hizmeti çalışıyor.",
        "en": "The {service} service is running.",
    },
    "cli.doctor.service.fail": {
        "tr": "{service} hizmeti çalışmıyor.",
        "en": "The {service} service is not running.",
    },
    "cli.doctor.service.skip": {
        "tr": "Bu PKCS#11 kütüphanesi bir kart okuyucu hizmeti gerektirmiyor.",
        "en": "This PKCS#11 module needs no card reader service.",
    },
    "cli.doctor.service.fix.pcscd": {
        "tr": "Kart okuyucu hizmetini başlatın: sudo systemctl start pcscd (paket: pcscd).",
        "en": "Start the card reader service: sudo systemctl start pcscd (package: pcscd).",
    },
    "cli.doctor.service.fix.pkcsslotd": {
        "tr": "opencryptoki hizmetini başlatın: sudo pkcsslotd.",
        "en": "Start the opencryptoki service: sudo pkcsslotd.",
    },
    "cli.doctor.card.ok": {"tr": "{count} kart bulundu.", "en": "{count} cards found."},
    "cli.doctor.card.ok.one": {"tr": "1 kart bulundu.", "en": "1 card found."},
    "cli.doctor.card.fix": {
        "tr": "Kartı okuyucuya takın ve okuyucunun bilgisayara bağlı olduğundan emin olun.",
        "en": "Insert the card and make sure the reader is connected to the computer.",
    },
    "cli.doctor.busy.ok": {
        "tr": "{card}: kart başka bir uygulama tarafından tutulmuyor.",
        "en": "{card}: no other application holds the card.",
    },
    "cli.doctor.busy.fix": {
        "tr": "DYS/EBYS'yi ve kartı kullanan diğer uygulamaları kapatın, sonra yeniden deneyin.",
        "en": "Close the DYS/EBYS and any other application using the card, then try again.",
    },
    "cli.doctor.pin.ok": {"tr": "{card}: PIN durumu iyi.", "en": "{card}: the PIN is fine."},
    "cli.doctor.pin.count_low": {
        "tr": "{card}: son doğru girişten sonra hatalı PIN girilmiş.",
        "en": "{card}: a wrong PIN was entered since the last correct one.",
    },
    "cli.doctor.pin.count_low.fix": {
        "tr": "PIN'i dikkatle girin; emin değilseniz kamusm reset-pin ile yeni PIN belirleyin.",
        "en": "Type the PIN carefully; if unsure, set a new one with kamusm reset-pin.",
    },
    "cli.doctor.pin.final_try": {
        "tr": "{card}: PIN son deneme hakkında; bir hatalı giriş daha PIN'i kilitler.",
        "en": "{card}: the PIN is on its final try; one more wrong entry locks it.",
    },
    "cli.doctor.pin.final_try.fix": {
        "tr": "PIN'inizden emin değilseniz denemeyin: kamusm reset-pin ile portal üzerinden "
        "yeni PIN belirleyin. PUK kullanmayın.",
        "en": "If you are not sure of the PIN, do not try it: set a new one through the portal "
        "with kamusm reset-pin. Do not use the PUK.",
    },
    "cli.doctor.pin.locked": {"tr": "{card}: PIN kilitli.", "en": "{card}: the PIN is locked."},
    "cli.doctor.pin.locked.fix": {
        "tr": "kamusm reset-pin ile portal üzerinden yeni PIN belirleyin. PUK kullanmayın: "
        "üç hatalı PUK kartı kullanılamaz hale getirir.",
        "en": "Set a new PIN through the portal with kamusm reset-pin. Do not use the PUK: "
        "three wrong PUKs make the card unusable.",
    },
    "cli.doctor.pin.not_initialized": {
        "tr": "{card}: kartta henüz PIN yok.",
        "en": "{card}: the card has no PIN yet.",
    },
    "cli.doctor.pin.not_initialized.fix": {
        "tr": "kamusm reset-pin ile portal üzerinden PIN oluşturun (PIN Oluşturma).",
        "en": "Create a PIN through the portal with kamusm reset-pin (PIN Oluşturma).",
    },
    "cli.doctor.certs.ok": {
        "tr": "{card}: sertifikalar geçerli (en erken son geçerlilik {expiry}, {days} gün).",
        "en": "{card}: certificates valid (earliest end {expiry}, {days} days).",
    },
    "cli.doctor.certs.none": {
        "tr": "{card}: kartta sertifika yok.",
        "en": "{card}: the card holds no certificate.",
    },
    "cli.doctor.certs.none.fix": {
        "tr": "Kart yeni olabilir ya da sertifika yüklenmemiş olabilir; Kamu SM ile görüşün.",
        "en": "The card may be new or its certificate not loaded yet; ask Kamu SM.",
    },
    "cli.doctor.certs.expiring": {
        "tr": "{card}: {kind} sertifikasının süresi {days} gün içinde doluyor ({expiry}).",
        "en": "{card}: the {kind} certificate expires within {days} days ({expiry}).",
    },
    "cli.doctor.certs.expired": {
        "tr": "{card}: {kind} sertifikasının süresi dolmuş ({expiry}).",
        "en": "{card}: the {kind} certificate has expired ({expiry}).",
    },
    "cli.doctor.certs.renew.fix": {
        "tr": "Kamu SM Online İşlemler üzerinden sertifika yenileme başvurusu yapın.",
        "en": "Apply for a certificate renewal through Kamu SM Online İşlemler.",
    },
    "cli.doctor.portal.ok": {
        "tr": "Portal erişilebilir: {url}.",
        "en": "The portal is reachable: {url}.",
    },
    "cli.doctor.portal.skip": {
        "tr": "Portal denetlenmedi (--portal ya da KAMUSM_PORTAL_URL verilmedi).",
        "en": "The portal was not checked (no --portal or KAMUSM_PORTAL_URL).",
    },
    "cli.doctor.portal.fix": {
        "tr": "Ağ bağlantısını, vekil sunucu (proxy) ve güvenlik duvarı ayarlarını ve --portal "
        "adresini denetleyin.",
        "en": "Check the network connection, the proxy and firewall settings, and the --portal "
        "address.",
    },
    "cli.doctor.portal.tls.fix": {
        "tr": "Kurumunuzun kök sertifikasını --ca-bundle ile verin.",
        "en": "Give your organisation's root certificate with --ca-bundle.",
    },
    # the guided reset
    "cli.reset.intro": {
        "tr": "Kamu SM PIN Oluşturma/Kilit Çözme. Kartınızı kullanan DYS/EBYS'yi kapatın. "
        "Portalda (Online İşlemler → NES İşlemleri → Bireysel İşlemler → PIN Oluşturma/Kilit "
        "Çözme) gösterilen doğrulama kodunu girin. Doğrulama kodu PUK değildir.",
        "en": "Kamu SM PIN creation/unblock. Close the DYS/EBYS that uses your card. Enter "
        "the verification code the portal shows (Online İşlemler → NES İşlemleri → Bireysel "
        "İşlemler → PIN Oluşturma/Kilit Çözme). The verification code is not a PUK.",
    },
    "cli.reset.intro.mali_muhur": {
        "tr": "Kamu SM Mali Mühür PIN Oluşturma/Değiştirme. Kartınızı kullanan e-fatura, e-defter "
        'ya da e-arşiv uygulamasını kapatın. Portalda "Mali Mühür PIN Oluşturma/Değiştirme" ile '
        "gösterilen doğrulama kodunu girin. Doğrulama kodu PUK değildir.",
        "en": "Kamu SM Mali Mühür PIN creation/change. Close the e-fatura, e-defter or e-arşiv "
        'application that uses your card. Enter the verification code the portal shows under "Mali '
        'Mühür PIN Oluşturma/Değiştirme". The verification code is not a PUK.',
    },
    "cli.reset.code": {
        "tr": "Doğrulama Kodu ({length} hane)",
        "en": "Verification code ({length} digits)",
    },
    "cli.reset.new_code": {
        "tr": 'Yeni Doğrulama Kodu ({length} hane, portalda "Tekrar Kod Al")',
        "en": 'New verification code ({length} digits, "Tekrar Kod Al" on the portal)',
    },
    "cli.reset.cards": {"tr": "Kart Seçiniz:", "en": "Choose your card:"},
    "cli.reset.card": {"tr": "Kart numarası", "en": "Card number"},
    "cli.reset.card_range": {
        "tr": "1 ile {count} arasında bir numara girin.",
        "en": "Enter a number from 1 to {count}.",
    },
    "cli.reset.card_of_holder": {"tr": "Kart: {card}", "en": "Card: {card}"},
    "cli.no_card_of_holder": {
        "tr": 'Takılı kartlarda adı "{holder}" içeren bir kart sahibi yok; kartı listeden seçin.',
        "en": 'No inserted card\'s holder has "{holder}" in their name; choose the card from the '
        "list.",
    },
    "cli.no_card_of_holder.none": {
        "tr": 'Takılı kartlarda adı "{holder}" içeren bir kart sahibi yok. Adı denetleyin ya da '
        "kartı --serial ile seçin.",
        "en": 'No inserted card\'s holder has "{holder}" in their name. Check the name, or '
        "choose the card with --serial.",
    },
    "cli.help.opt.holder": {
        "tr": "Kartı sahibinin adıyla seçer (adın bir bölümü; büyük/küçük harf Türkçe kurallarla, "
        "I/ı ve İ/i).",
        "en": "Choose the card by its holder's name (part of it; case by Turkish rules, I/ı and "
        "İ/i).",
    },
    "cli.reset.no_card": {
        "tr": "Takılı kart bulunamadı. Kartınızı takıp Enter'a basın",
        "en": "No card found. Insert your card and press Enter",
    },
    "cli.reset.pin_rules": {
        "tr": "Yeni PIN: yalnızca rakam, en az {min_length}, en fazla {max_length} hane. "
        "Eski PIN'inizi yeniden seçebilirsiniz.",
        "en": "New PIN: digits only, at least {min_length} and at most {max_length} digits. "
        "You may choose your old PIN again.",
    },
    "cli.reset.new_pin": {"tr": "Yeni PIN Kodu", "en": "New PIN"},
    "cli.reset.new_pin_again": {"tr": "Yeni PIN Kodu (Tekrar)", "en": "New PIN (again)"},
    "cli.reset.sms_sent": {
        "tr": "{phone} numaralı telefonunuza SMS onay kodu gönderildi.",
        "en": "An SMS confirmation code was sent to your phone {phone}.",
    },
    "cli.reset.sms": {"tr": "SMS Onay Kodu", "en": "SMS confirmation code"},
    "cli.reset.web_password": {"tr": "WEB Parola", "en": "Web password"},
    "cli.reset.new_sms": {
        "tr": "Yeni SMS onay kodu gönderilsin mi? (e/h)",
        "en": "Send a new SMS confirmation code? (y/n)",
    },
    "cli.reset.new_web_password": {
        "tr": "WEB Parola yeniden sorulsun mu? (e/h)",
        "en": "Ask for the web password again? (y/n)",
    },
    # ``count`` counts the new code (or new asking) offered now.
    "cli.reset.new_sms_left": {
        "tr": "Bu işlemde, şimdi önerilen dahil, en çok {count} yeni SMS onay kodu istenebilir.",
        "en": "This operation allows {count} more new SMS codes, counting the one offered now.",
    },
    "cli.reset.new_sms_left.one": {
        "tr": "Bu, bu işlemde istenebilecek son yeni SMS onay kodu.",
        "en": "This is the last new SMS code this operation allows.",
    },
    "cli.reset.new_web_password_left": {
        "tr": "Bu işlemde WEB Parola, şimdi önerilen dahil, en çok {count} kez daha sorulabilir.",
        "en": "This operation can ask for the web password {count} more times, counting the "
        "one offered now.",
    },
    "cli.reset.new_web_password_left.one": {
        "tr": "Bu işlemde WEB Parola son kez sorulabilir.",
        "en": "This is the last time this operation can ask for the web password.",
    },
    "cli.reset.yes_or_no": {
        "tr": "Evet için e, hayır için h yazın.",
        "en": "Type y for yes or n for no.",
    },
    "cli.reset.attempts": {
        "tr": "Kalan deneme hakkı: {attempts}.",
        "en": "Attempts left: {attempts}.",
    },
    "cli.reset.done": {
        "tr": "Kartınızın PIN'i değiştirildi. Yeni PIN'inizi kimseyle paylaşmayın.",
        "en": "Your card's PIN has been changed. Share your new PIN with nobody.",
    },
    "cli.reset.not_reported": {
        "tr": "Yeni PIN karta yazıldı; sonuç portala bildirilemedi.",
        "en": "The new PIN is on the card; the result could not be reported to the portal.",
    },
    "cli.countdown": {"tr": "Kalan süre: {seconds} saniye", "en": "Time left: {seconds} s"},
    "cli.countdown.over": {"tr": "Süre doldu", "en": "Time is up"},
    "cli.step.redeem_code": {
        "tr": "Doğrulama kodu portalda denetleniyor…",
        "en": "Checking the verification code with the portal…",
    },
    "cli.step.choose_card": {"tr": "Kart denetleniyor…", "en": "Checking the card…"},
    "cli.step.request_challenge": {
        "tr": "PIN Kodunu Değiştir: onay kodu isteniyor…",
        "en": "Change PIN: asking for a confirmation code…",
    },
    "cli.step.receive_authorization": {
        "tr": "Kilit çözme yetkisi alınıyor…",
        "en": "Receiving the unblock authorization…",
    },
    "cli.step.write_pin": {
        "tr": "Yeni PIN karta yazılıyor…",
        "en": "Writing the new PIN to the card…",
    },
    "cli.step.report_result": {
        "tr": "Sonuç portala bildiriliyor…",
        "en": "Reporting the result to the portal…",
    },
    "cli.step.change_pin": {"tr": "PIN değiştiriliyor…", "en": "Changing the PIN…"},
    "cli.step.verify_new_pin": {
        "tr": "Yeni PIN kartta doğrulanıyor…",
        "en": "Verifying the new PIN on the card…",
    },
    # the PIN change
    "cli.change.intro": {
        "tr": "PIN değiştirme: kart {card}.",
        "en": "PIN change: card {card}.",
    },
    "cli.change.old_pin": {"tr": "Mevcut PIN Kodu", "en": "Current PIN"},
    "cli.change.final_try_word": {"tr": "EVET", "en": "YES"},
    "cli.change.final_try": {
        "tr": "Devam etmek için {word} yazın (vazgeçmek için Enter)",
        "en": "Type {word} to go on (Enter to stop)",
    },
    "cli.change.final_try_script": {
        "tr": "Son deneme hakkı betikten harcanmaz; PIN değiştirilmedi.",
        "en": "A script never spends the final try; the PIN was not changed.",
    },
    "cli.change.stdin_closed": {
        "tr": "Standart girdi kapalı; PIN'ler okunamadı (--pin-stdin üç satır bekler).",
        "en": "Standard input is closed; the PINs could not be read (--pin-stdin expects three "
        "lines).",
    },
    "cli.change.stdin": {
        "tr": "Standart girdiden üç satır bekleniyor: mevcut PIN, yeni PIN, yeni PIN (tekrar).",
        "en": "Three lines expected on standard input: current PIN, new PIN, new PIN again.",
    },
    "cli.change.done": {
        "tr": "PIN değiştirildi ve kart yeni PIN ile doğrulandı.",
        "en": "The PIN was changed and the card accepted the new PIN.",
    },
    # the demo
    "cli.demo.title": {
        "tr": "kamusm demo: SoftHSM2 kartı ve yerel portal ile uçtan uca PIN sıfırlama",
        "en": "kamusm demo: a whole PIN reset with a SoftHSM2 card and the local portal",
    },
    "cli.demo.provisioned": {
        "tr": "SoftHSM2 kartı ve sahibi hazırlandı: kart {serial}, {holder}",
        "en": "SoftHSM2 card and its holder provisioned: card {serial}, {holder}",
    },
    "cli.demo.sandbox": {
        "tr": "Yerel portal başlatıldı: {url}",
        "en": "Local portal started: {url}",
    },
    "cli.demo.login": {
        "tr": "Kart sahibi e-Devlet ile portala giriş yaptı",
        "en": "The holder logged in to the portal through e-Devlet",
    },
    "cli.demo.code": {
        "tr": "Doğrulama kodu alındı (gösterilmiyor)",
        "en": "Verification code obtained (not shown)",
    },
    "cli.demo.code_entered": {
        "tr": "Doğrulama kodu girildi, kart seçildi: {card}",
        "en": "Verification code entered, card chosen: {card}",
    },
    "cli.demo.redeemed": {
        "tr": "Doğrulama kodu portalda kullanıldı",
        "en": "Verification code redeemed with the portal",
    },
    "cli.demo.card_checked": {
        "tr": "Kart denetlendi (sahibi, ürün, PIN durumu)",
        "en": "Card checked (holder, product, PIN state)",
    },
    "cli.demo.new_pin": {
        "tr": "Yeni PIN rastgele seçildi ve iki kez girildi (gösterilmiyor)",
        "en": "New PIN chosen at random and entered twice (not shown)",
    },
    "cli.demo.challenge": {
        "tr": "SMS onay kodu istendi",
        "en": "SMS confirmation code requested",
    },
    "cli.demo.sms": {
        "tr": "SMS onay kodu portalın giden kutusundan okundu ve girildi (gösterilmiyor)",
        "en": "SMS confirmation code read from the portal's outbox and entered (not shown)",
    },
    "cli.demo.authorized": {
        "tr": "Kilit çözme yetkisi alındı",
        "en": "Unblock authorization received",
    },
    "cli.demo.written": {
        "tr": "Yeni PIN karta yazıldı (yönetici girişi + C_InitPIN)",
        "en": "New PIN written to the card (SO login + C_InitPIN)",
    },
    "cli.demo.reported": {
        "tr": "Sonuç portala bildirildi",
        "en": "Result reported to the portal",
    },
    "cli.demo.verified": {
        "tr": "Yeni PIN kartta doğrulandı",
        "en": "New PIN verified on the card",
    },
    "cli.demo.done": {
        "tr": "Demo tamamlandı: yeni PIN ayarlandı (gösterilmiyor). Toplam {ms} ms.",
        "en": "Demo complete: new PIN set (not shown). Total {ms} ms.",
    },
    # the sandbox
    "cli.sandbox.password": {
        "tr": "Kart sahibinin portal parolası",
        "en": "The holder's portal password",
    },
    "cli.sandbox.password_again": {
        "tr": "Kart sahibinin portal parolası (tekrar)",
        "en": "The holder's portal password (again)",
    },
    "cli.sandbox.password_mismatch": {
        "tr": "Parolalar aynı değil.",
        "en": "The passwords differ.",
    },
    "cli.sandbox.password_needed": {
        "tr": "Kart sahibinin parolasını KAMUSM_HOLDER_PASSWORD ortam değişkeniyle verin ya da "
        "komutu bir terminalde çalıştırın.",
        "en": "Give the holder's password in the KAMUSM_HOLDER_PASSWORD variable or run the "
        "command in a terminal.",
    },
    "cli.sandbox.refused": {
        "tr": "Yerel portal kaydı kabul etmedi: HTTP {status} ({reason}).",
        "en": "The local portal refused the registration: HTTP {status} ({reason}).",
    },
    "cli.sandbox.card": {
        "tr": "Kart oluşturuldu: seri no {serial}, etiket {label}.",
        "en": "Card created: serial {serial}, label {label}.",
    },
    "cli.sandbox.holder": {
        "tr": "Kart sahibi kaydedildi: {name}, T.C. Kimlik No {tckn}.",
        "en": "Holder registered: {name}, T.C. Kimlik No {tckn}.",
    },
    "cli.sandbox.security_word": {
        "tr": "Şifreli Giriş için Güvenlik Sözcüğü: {word}",
        "en": "Security word (Güvenlik Sözcüğü) for Şifreli Giriş: {word}",
    },
    "cli.sandbox.security_word_set": {
        "tr": "Şifreli Giriş için Güvenlik Sözcüğü verdiğiniz gibi kaydedildi.",
        "en": "The security word (Güvenlik Sözcüğü) for Şifreli Giriş was registered as given.",
    },
    "cli.sandbox.store": {
        "tr": "SoftHSM2 deposu: {store}. Kartı kullanmak için: export SOFTHSM2_CONF={conf}",
        "en": "SoftHSM2 store: {store}. To use the card: export SOFTHSM2_CONF={conf}",
    },
    "cli.sandbox.next": {
        "tr": "Kartın PIN'ini kimse bilmiyor: kamusm reset-pin --portal {url} ile yeni PIN "
        "belirleyin.",
        "en": "Nobody knows the card's PIN: set one with kamusm reset-pin --portal {url}.",
    },
    "cli.sandbox.stopped": {"tr": "Yerel portal durduruldu.", "en": "Local portal stopped."},
    "cli.sandbox.bad_proxy": {
        "tr": "--trusted-proxy için verilen değer bir IP adresi ya da ağı değil: {value}",
        "en": "The value given for --trusted-proxy is not an IP address or network: {value}",
    },
    "cli.sandbox.bad_host": {
        "tr": "--allowed-host için verilen değer bir sunucu adı değil: {value}",
        "en": "The value given for --allowed-host is not a host name: {value}",
    },
    "cli.sandbox.port_unavailable": {
        "tr": "Yerel portal {port} numaralı bağlantı noktasını dinleyemiyor (başka bir program "
        "kullanıyor ya da izin yok). Başka bir --port seçin; --port 0 boş birini seçer.",
        "en": "The local portal cannot listen on port {port} (another program uses it, or it "
        "is not allowed). Choose another --port; --port 0 picks a free one.",
    },
    "cli.sandbox.bad_database": {
        "tr": "--database ile verilen dosya açılamıyor ya da oluşturulamıyor: {path}. Dizinin "
        "var olduğunu, yazılabildiğini ve dosyanın bu yerel portalın veritabanı olduğunu "
        "denetleyin.",
        "en": "The file given with --database cannot be opened or created: {path}. Check that "
        "its directory exists and is writable and that the file is this local portal's "
        "database.",
    },
    "cli.sandbox.bad_tls": {
        "tr": "--ssl-certfile/--ssl-keyfile ile verilen sertifika ya da anahtar yüklenemiyor: "
        "{files}. Dosyaların var olduğunu, PEM biçiminde olduğunu ve anahtarın sertifikaya ait "
        "olduğunu denetleyin.",
        "en": "The certificate or key given with --ssl-certfile/--ssl-keyfile cannot be "
        "loaded: {files}. Check that the files exist, are PEM and that the key belongs to the "
        "certificate.",
    },
    "cli.sandbox.key_without_cert": {
        "tr": "--ssl-keyfile yalnızca --ssl-certfile ile birlikte verilebilir.",
        "en": "--ssl-keyfile can only be given together with --ssl-certfile.",
    },
    # help texts (kamusm --help, and the command reference built from them)
    "cli.help.main": {
        "tr": "Kamu SM e-imza kartlarının PIN işlemleri: PIN oluşturma, değiştirme ve kilit "
        "çözme. PUK hiçbir zaman sorulmaz; PIN'ler komut satırında kabul edilmez.",
        "en": "The PIN lifecycle of Kamu SM e-signature cards: create, change and unblock a "
        "PIN. Nobody is ever asked for a PUK; PINs are never accepted on the command line.",
    },
    "cli.help.tokens": {
        "tr": "Takılı her kartı PIN durumu (tamam, hatalı deneme var, son deneme, kilitli) ve "
        "sahibiyle listeler.",
        "en": "List every card with its PIN state (ok, wrong tries made, final try, locked) and "
        "its holder.",
    },
    "cli.help.certs": {
        "tr": "Karttaki sertifikaları gösterir: tür, sahibi, maskeli T.C. Kimlik No, son "
        "geçerlilik ve kalan gün, nitelikli olup olmadığı.",
        "en": "Show the certificates on a card: kind, holder, masked T.C. Kimlik No, end of "
        "validity with days left, qualified or not.",
    },
    "cli.help.doctor": {
        "tr": "Denetler ve açıklar: PKCS#11 kütüphanesi (ve mimarisi), kart okuyucu hizmeti, "
        "kart, kartı tutan başka uygulama, kilitli ya da son denemedeki PIN, süresi dolmuş ya da "
        "30 gün içinde dolacak sertifikalar, portal erişimi. Her sorun çözümüyle yazılır.",
        "en": "Check and explain: the PKCS#11 module (and its architecture), the card reader "
        "service, the card, another application holding it, a PIN locked or on its final try, "
        "certificates expired or expiring within 30 days, the portal. Each problem comes with "
        "its fix.",
    },
    "cli.help.sign_pdf": {
        "tr": "Bir PDF'i karttaki imza sertifikasıyla imzalar (deneme imzası): önce kartın imzaya "
        "hazır olup olmadığına bakar, PIN'i gizli sorar, son deneme hakkında onay sözcüğünü "
        "(EVET) ister; imzalı dosyayı doğrular ve özetler.",
        "en": "Sign a PDF with the card's signing certificate (a test signature): checks first "
        "whether the card may sign, asks for the PIN without echo, asks for the confirmation "
        "word (YES) on the final try; validates the signed file and sums it up.",
    },
    "cli.help.change_pin": {
        "tr": "Bildiğiniz PIN'i değiştirir. PIN'ler gizli sorulur; PIN son deneme hakkındaysa "
        "devam etmek için onay sözcüğünü (EVET) yazmanız gerekir.",
        "en": "Change a PIN you know. PINs are asked without echo; on the final try you have "
        "to type a confirmation word (YES) to go on.",
    },
    "cli.help.reset_pin": {
        "tr": "Portal üzerinden yeni PIN belirler (PIN Oluşturma/Kilit Çözme): doğrulama kodu, "
        "geri sayım, sahibinin adıyla kart seçimi, iki kez gizli yeni PIN, SMS onay kodu.",
        "en": "Set a new PIN through the portal (PIN Oluşturma/Kilit Çözme): verification "
        "code, countdown, the card picker by holder name, the new PIN twice without echo, the "
        "SMS code.",
    },
    "cli.help.sandbox": {
        "tr": "Eğitim ve test için yerel deneme portalı.",
        "en": "The local sandbox portal, for training and tests.",
    },
    "cli.help.sandbox_serve": {
        "tr": "Yerel portalı 127.0.0.1 üzerinde çalıştırır ve adresini ve yönetici anahtarını "
        "yazar (durdurmak için Ctrl-C).",
        "en": "Serve the local portal on 127.0.0.1 and print its address and admin token "
        "(Ctrl-C stops it).",
    },
    "cli.help.sandbox_provision": {
        "tr": "Çalışan yerel portala bir deneme kart sahibi ve test sertifikalı bir SoftHSM2 "
        "kartı ekler. Kartın PIN'ini kimse bilmez: reset-pin ile belirlenir.",
        "en": "Add a demo holder and a SoftHSM2 card with test certificates to a running local "
        "portal. Nobody knows the card's PIN: set it with reset-pin.",
    },
    "cli.help.demo": {
        "tr": "Gözetimsiz demo: SoftHSM2 kartı ve sahibini hazırlar, yerel portalı başlatır, "
        "sahibi olarak doğrulama kodu alır, SMS kodunu portalın giden kutusundan okuyarak PIN "
        "sıfırlamayı baştan sona yapar, yeni PIN'i kartta doğrular ve her adımı süresiyle yazar.",
        "en": "Unattended demo: provision a SoftHSM2 card and its holder, start the local "
        "portal, obtain a verification code as the holder, run the whole reset reading the SMS "
        "code from the portal's outbox, verify the new PIN on the card, print every step with "
        "its timing.",
    },
    "cli.help.opt.help": {"tr": "Bu yardımı gösterir.", "en": "Show this help."},
    "cli.help.opt.version": {
        "tr": "Sürümü gösterir.",
        "en": "Show the version.",
    },
    "cli.short.tokens": {
        "tr": "Kartlar, PIN durumları ve sahipleri.",
        "en": "Cards, their PIN states and holders.",
    },
    "cli.short.certs": {
        "tr": "Karttaki sertifikalar ve son geçerlilikleri.",
        "en": "The certificates on a card and their expiry.",
    },
    "cli.short.doctor": {
        "tr": "Sürücü, kart, PIN, sertifika ve portal denetimi.",
        "en": "Check driver, card, PIN, certificates, portal.",
    },
    "cli.short.sign_pdf": {
        "tr": "Bir PDF'i deneme için imzalar ve doğrular.",
        "en": "Sign a PDF as a test, and validate it.",
    },
    "cli.short.change_pin": {
        "tr": "Bildiğiniz PIN'i değiştirir.",
        "en": "Change a PIN you know.",
    },
    "cli.short.reset_pin": {
        "tr": "Portal üzerinden yeni PIN (Kilit Çözme).",
        "en": "A new PIN through the portal (unblock).",
    },
    "cli.short.sandbox": {
        "tr": "Yerel deneme portalı (eğitim, test).",
        "en": "The local sandbox portal (training, tests).",
    },
    "cli.short.sandbox_serve": {
        "tr": "Yerel portalı çalıştırır.",
        "en": "Serve the local portal.",
    },
    "cli.short.sandbox_provision": {
        "tr": "Deneme kart sahibi ve SoftHSM2 kartı ekler.",
        "en": "Add a demo holder and a SoftHSM2 card.",
    },
    "cli.help.app": {
        "tr": "Kart sahipleri için tarayıcı sihirbazı: PIN Oluşturma/Kilit Çözme ve PIN "
        "değiştirme ekranlarını bu bilgisayarda (127.0.0.1) açar ve varsayılan tarayıcıda "
        "gösterir. Adres bu başlatmaya özel bir anahtar taşır ve tek bir oturum açar.",
        "en": "The browser wizard for card holders: serves the PIN reset and PIN change "
        "screens on this computer (127.0.0.1) and opens them in the default browser. The "
        "address carries a key made for this start and opens a single session.",
    },
    "cli.short.app": {
        "tr": "Kart sahipleri için tarayıcı sihirbazı.",
        "en": "The browser wizard for card holders.",
    },
    "cli.help.opt.app_port": {
        "tr": "127.0.0.1 üzerinde dinlenecek port (0: boş bir port).",
        "en": "Port to listen on at 127.0.0.1 (0: any free port).",
    },
    "cli.help.opt.training": {
        "tr": "Eğitim sayfalarını /portal altında aç (giriş, doğrulama kodu, sertifikalar ve "
        "gönderilen SMS'leri gösteren telefon sayfası).",
        "en": "Serve the training pages under /portal (login, verification code, certificates "
        "and a phone page showing the SMS sent).",
    },
    "cli.help.opt.no_browser": {
        "tr": "Tarayıcıyı açma; yalnızca adresi yaz.",
        "en": "Do not open a browser; only print the address.",
    },
    "cli.app.url": {
        "tr": "Sihirbaz açılıyor. Tarayıcı açılmazsa bu adresi açın: {url}",
        "en": "Opening the wizard. If no browser opens, open this address: {url}",
    },
    "cli.app.stop": {
        "tr": "Durdurmak için Ctrl-C.",
        "en": "Press Ctrl-C to stop.",
    },
    "cli.app.stopped": {"tr": "Sihirbaz durduruldu.", "en": "The wizard stopped."},
    "cli.app.bad_port": {
        "tr": "Port 0 ile 65535 arasında olmalıdır.",
        "en": "The port must be between 0 and 65535.",
    },
    "cli.short.demo": {
        "tr": "Uçtan uca PIN sıfırlama demosu (gözetimsiz).",
        "en": "The whole PIN reset, unattended, as a demo.",
    },
    "cli.help.opt.module": {
        "tr": "PKCS#11 kütüphanesinin yolu (varsayılan: KAMUSM_PKCS11_MODULE, sonra AKİS, "
        "SoftHSM2, opencryptoki).",
        "en": "Path of the PKCS#11 module (default: KAMUSM_PKCS11_MODULE, then AKİS, SoftHSM2, "
        "opencryptoki).",
    },
    "cli.help.opt.lang": {
        "tr": "Dil: tr (varsayılan) ya da en; KAMUSM_LANG ile de verilebilir.",
        "en": "Language: tr (the default) or en; KAMUSM_LANG works too.",
    },
    "cli.help.opt.debug": {
        "tr": "Hata ayrıntısını (çağrı yığınını) ve hata ayıklama kayıtlarını gösterir; gizli "
        "değerler yine de yazılmaz.",
        "en": "Show tracebacks and debug log records; secrets are still never written.",
    },
    "cli.help.opt.json": {"tr": "Betikler için JSON çıktı.", "en": "JSON output for scripts."},
    "cli.help.opt.serial": {
        "tr": "Kartı seri numarasıyla seçer.",
        "en": "Choose the card by serial number.",
    },
    "cli.help.opt.label": {"tr": "Kartı etiketiyle seçer.", "en": "Choose the card by label."},
    "cli.help.opt.portal": {
        "tr": "Kamu SM portalının adresi (https://…; http yalnızca yerel portal için); "
        "KAMUSM_PORTAL_URL.",
        "en": "The Kamu SM portal's address (https://…; http only for the local portal); "
        "KAMUSM_PORTAL_URL.",
    },
    "cli.help.opt.ca_bundle": {
        "tr": "Portalın TLS sertifikasını doğrulayan CA dosyası (PEM).",
        "en": "CA file (PEM) that verifies the portal's TLS certificate.",
    },
    "cli.help.opt.product": {
        "tr": "Ürün: nes (varsayılan) ya da mali-muhur.",
        "en": "Product: nes (the default) or mali-muhur.",
    },
    "cli.help.opt.method": {
        "tr": "Onay yöntemi: sms (varsayılan) ya da web-password.",
        "en": "Confirmation method: sms (the default) or web-password.",
    },
    "cli.help.opt.timestamp_url": {
        "tr": "Zaman damgası sunucusu (RFC 3161); verilirse imza PAdES B-T olur.",
        "en": "A timestamp server (RFC 3161); with it the signature is PAdES B-T.",
    },
    "cli.help.opt.trust": {
        "tr": "İmzalı dosya bu sertifikalara (PEM dosyası ya da tek DER sertifika: kök ve ara "
        "sertifikalar) göre de doğrulanır.",
        "en": "Also validate the signed file against these certificates (a PEM bundle or one "
        "DER certificate: the root and the issuing CAs).",
    },
    "cli.help.opt.sign_pin_stdin": {
        "tr": "PIN'i standart girdiden okur (bir satır); betikler içindir. Son deneme hakkı bu "
        "yolla hiç harcanmaz.",
        "en": "Read the PIN from standard input (one line); for scripts. The final try is "
        "never spent this way.",
    },
    "cli.sign.pin": {"tr": "PIN Kodu", "en": "PIN"},
    "cli.sign.stdin": {
        "tr": "Standart girdiden bir satır PIN bekleniyordu.",
        "en": "One line with the PIN was expected on standard input.",
    },
    "cli.sign.cannot_read": {
        "tr": "İmzalanacak dosya ya da kök sertifika okunamadı.",
        "en": "The file to sign or the root certificate could not be read.",
    },
    "cli.sign.cannot_write": {
        "tr": "İmzalı dosya yazılamadı.",
        "en": "The signed file could not be written.",
    },
    "cli.sign.valid": {
        "tr": "İmza ({field}) geçerli, imzalayan {holder}: belge değişmemiş.",
        "en": "The signature ({field}) by {holder} is valid: the document is unchanged.",
    },
    "cli.sign.invalid": {
        "tr": "İmza ({field}) doğrulanamadı (imzalayan {holder}).",
        "en": "The signature ({field}) does not validate (signed by {holder}).",
    },
    "cli.sign.trusted": {
        "tr": "Sertifika zinciri verilen sertifikalara ulaşıyor.",
        "en": "The certificate chain reaches the certificates given.",
    },
    "cli.sign.untrusted": {
        "tr": "Sertifika zinciri verilen sertifikalara ulaşmıyor.",
        "en": "The certificate chain does not reach the certificates given.",
    },
    "cli.sign.chain_not_checked": {
        "tr": "Sertifika zinciri denetlenmedi: --trust ile kök sertifika verilmedi.",
        "en": "The certificate chain was not checked: no root certificate was given with --trust.",
    },
    "cli.sign.final_try_script": {
        "tr": "Son deneme hakkı kaldı; --pin-stdin ile son hak kullanılmaz. Hiçbir şey "
        "imzalanmadı: imzayı uçbirimde, onay vererek atın.",
        "en": "Only the final try is left, and --pin-stdin never spends it. Nothing was "
        "signed: sign at a terminal, where you can agree to it.",
    },
    "cli.help.opt.field": {
        "tr": "İmza alanının adı; verilmezse ilk boş ImzaN alanı (Imza1, Imza2, ...).",
        "en": "The signature field's name; by default the first free ImzaN (Imza1, Imza2, ...).",
    },
    "cli.sign.timestamped": {
        "tr": "İmzada zaman damgası var (PAdES B-T).",
        "en": "The signature carries a timestamp (PAdES B-T).",
    },
    "cli.sign.done": {"tr": "İmzalı dosya: {path}", "en": "Signed file: {path}"},
    "cli.help.opt.pin_stdin": {
        "tr": "PIN'leri standart girdiden okur (üç satır: mevcut, yeni, yeni tekrar); betikler "
        "içindir. Son deneme hakkı bu yolla hiç harcanmaz.",
        "en": "Read the PINs from standard input (three lines: current, new, new again); for "
        "scripts. The final try is never spent this way.",
    },
    "cli.help.opt.host": {
        "tr": "Dinlenecek yerel adres (yalnızca 127.0.0.1, ::1, localhost).",
        "en": "Loopback address to listen on (127.0.0.1, ::1, localhost only).",
    },
    "cli.help.opt.port": {
        "tr": "Dinlenecek port (0: boş bir port).",
        "en": "Port to listen on (0: any free port).",
    },
    "cli.help.opt.database": {
        "tr": "SQLite dosyası (varsayılan: geçici bir dosya).",
        "en": "SQLite file (default: a temporary one).",
    },
    "cli.help.opt.manual_clock": {
        "tr": "Zaman yalnızca yönetici isteğiyle ilerler (süre dolumlarını denemek için).",
        "en": "Time moves only when the admin API says so (to try expiry).",
    },
    "cli.help.opt.ssl_certfile": {
        "tr": "TLS sertifika dosyası (PEM).",
        "en": "TLS certificate file (PEM).",
    },
    "cli.help.opt.ssl_keyfile": {"tr": "TLS anahtar dosyası (PEM).", "en": "TLS key file (PEM)."},
    "cli.help.opt.trusted_proxy": {
        "tr": "X-Forwarded-For başlığına güvenilecek ters vekil sunucunun (proxy) adresi "
        "(birden çok kez verilebilir; varsayılan: hiçbiri, istemci adresi bağlantının kendi "
        "adresidir).",
        "en": "Address of a reverse proxy whose X-Forwarded-For header names the client "
        "(repeatable; none by default: the client address is the connection's own).",
    },
    "cli.help.opt.allowed_host": {
        "tr": "127.0.0.1, ::1 ve localhost dışında hizmet verilecek bir sunucu adı (birden çok "
        "kez verilebilir; başka bir ad 421 ile reddedilir).",
        "en": "A host name served besides 127.0.0.1, ::1 and localhost (repeatable; any other "
        "name is refused with 421).",
    },
    "cli.help.opt.url": {
        "tr": "Çalışan yerel portalın adresi (sandbox serve'ün yazdığı).",
        "en": "Address of the running local portal (as sandbox serve prints it).",
    },
    "cli.help.opt.admin_token": {
        "tr": "Yerel portalın yönetici anahtarı; KAMUSM_SANDBOX_ADMIN_TOKEN.",
        "en": "The local portal's admin token; KAMUSM_SANDBOX_ADMIN_TOKEN.",
    },
    "cli.help.opt.store": {
        "tr": "SoftHSM2 deposunun dizini (yoksa oluşturulur).",
        "en": "Directory of the SoftHSM2 store (created when missing).",
    },
    "cli.help.opt.tckn": {
        "tr": "Deneme kart sahibinin T.C. Kimlik No'su.",
        "en": "The demo holder's T.C. Kimlik No.",
    },
    "cli.help.opt.name": {"tr": "Deneme kart sahibinin adı.", "en": "The demo holder's name."},
    "cli.help.opt.birth_date": {
        "tr": "Deneme kart sahibinin doğum tarihi (PIN kuralları için).",
        "en": "The demo holder's birth date (for the PIN rules).",
    },
    "cli.help.opt.phone": {
        "tr": "SMS kodlarının gideceği deneme telefon numarası.",
        "en": "The demo phone number SMS codes go to.",
    },
    "cli.help.exit_codes": {"tr": "Çıkış kodları:", "en": "Exit codes:"},
    "cli.exit.ok": {"tr": "başarılı", "en": "success"},
    "cli.exit.error": {"tr": "beklenmeyen hata", "en": "unexpected error"},
    "cli.exit.usage": {"tr": "hatalı kullanım", "en": "wrong usage"},
    "cli.exit.input": {"tr": "girilen değer reddedildi", "en": "input rejected"},
    "cli.exit.setup": {
        "tr": "kurulum eksik (PKCS#11 kütüphanesi, SoftHSM2, ek paket)",
        "en": "setup missing (PKCS#11 module, SoftHSM2, an extra package)",
    },
    "cli.exit.card": {
        "tr": "kart sorunu (yok, birden fazla, çıkarıldı, başka uygulamada)",
        "en": "card problem (none, several, removed, held by another application)",
    },
    "cli.exit.pin_locked": {
        "tr": "PIN kilitli: reset-pin kullanın",
        "en": "PIN locked: use reset-pin",
    },
    "cli.exit.pin_wrong": {"tr": "hatalı PIN", "en": "wrong PIN"},
    "cli.exit.portal_unreachable": {
        "tr": "portala ulaşılamadı",
        "en": "portal unreachable",
    },
    "cli.exit.portal_refused": {"tr": "portal reddetti", "en": "portal refused"},
    "cli.exit.cancelled": {
        "tr": "iptal edildi (kart değişmedi)",
        "en": "cancelled (card unchanged)",
    },
    "cli.exit.expired": {
        "tr": "süre doldu (kod ya da PIN girişi)",
        "en": "time ran out (code or PIN entry)",
    },
    "cli.exit.flow_failed": {"tr": "PIN işlemi başarısız", "en": "PIN operation failed"},
    "cli.exit.checks_failed": {
        "tr": "doctor sorun buldu",
        "en": "doctor found problems",
    },
    "cli.exit.not_signed": {
        "tr": "imza atılamadı (belge imzayı almadı ya da zaman damgası sunucusuna ulaşılamadı)",
        "en": "not signed (the document did not take the signature, or the timestamp server "
        "could not be reached)",
    },
    "cli.exit.interrupted": {"tr": "Ctrl-C ile kesildi", "en": "interrupted by Ctrl-C"},
    # the readers (kamusm._cli._readers)
    **READER_TEXTS,
}


def text(key: str, lang: Language, /, **fields: object) -> str:
    """The text ``key`` (the command line's own, else the library's) in ``lang``, with
    ``fields`` filled in. An unknown key or language is a programming error."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {LANGUAGES}")
    table = TEXTS if key in TEXTS else MESSAGES
    return table[key][lang].format(**fields)


def one_or_many(key: str, count: int) -> str:
    """``key``'s own form for exactly one (``KEY.one``, "1 card found.") when it has one."""
    return f"{key}.one" if count == 1 and f"{key}.one" in TEXTS else key
