"""Texts meant for a card holder, in Turkish and English.

Every error a holder can see, and every prompt the flows ask, has one entry here with both
languages. Turkish is the default. Where Kamu SM's own software has a wording, it is used as is
("Hatalı PIN.", "PIN kilitli.").

The command line's own texts (its prompts, help and tables) live with it, in
``kamusm._cli._texts``.

Templates use ``str.format`` fields. The fields are never secrets: the error classes only pass
counts, lengths, names of states and masked values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Final, Literal, get_args

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "MESSAGES", "Language", "format_date", "text"]

Language = Literal["tr", "en"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)
DEFAULT_LANGUAGE: Final[Language] = "tr"

_PORTAL_ROUTE_TR = (
    "Kamu SM Online İşlemler sayfasında NES İşlemleri → Bireysel İşlemler → "
    '"PIN Oluşturma/Kilit Çözme" ile yeni PIN belirleyin. PUK kullanmayın.'
)
_PORTAL_ROUTE_EN = (
    "Set a new PIN through the Kamu SM online portal: NES İşlemleri → Bireysel İşlemler → "
    '"PIN Oluşturma/Kilit Çözme". Do not use the PUK.'
)
# The route of each product (seed 003): a Mali Mühür card has its own button and its own reset.
_ROUTE_MALI_MUHUR_TR = (
    'Kamu SM "Kilit Çözme" sayfasında "Mali Mühür PIN Oluşturma/Değiştirme" yolu ile yeni PIN '
    "belirleyin. PUK kullanmayın."
)
_ROUTE_MALI_MUHUR_EN = (
    'Set a new PIN through the Kamu SM "Kilit Çözme" page, "Mali Mühür PIN '
    'Oluşturma/Değiştirme". Do not use the PUK.'
)
_ROUTE_ANY_TR = (
    'NES kartı için Kamu SM Online İşlemler → NES İşlemleri → "PIN Oluşturma/Kilit Çözme", '
    'Mali Mühür kartı için "Mali Mühür PIN Oluşturma/Değiştirme" ile yeni PIN belirleyin. '
    "PUK kullanmayın."
)
_ROUTE_ANY_EN = (
    "Set a new PIN through the Kamu SM portal: for an NES card Online İşlemler → NES "
    'İşlemleri → "PIN Oluşturma/Kilit Çözme", for a Mali Mühür card "Mali Mühür PIN '
    'Oluşturma/Değiştirme". Do not use the PUK.'
)
_UPDATE_TR = "Uygulamanızı güncelleyin; sorun sürerse Kamu SM ile iletişime geçin (444 5 576)."
_UPDATE_EN = "Update your application; if this goes on, contact Kamu SM (444 5 576)."
_NEW_CODE_TR = 'Portalda "Tekrar Kod Al" ile yeni bir doğrulama kodu alıp baştan başlayın.'
_NEW_CODE_EN = 'Get a new verification code on the portal with "Tekrar Kod Al" and start again.'

# key -> {language: template}
MESSAGES: Final[Mapping[str, Mapping[Language, str]]] = {
    # ---- generic -------------------------------------------------------------------------
    "error": {
        "tr": "Beklenmeyen bir hata oluştu.",
        "en": "An unexpected error occurred.",
    },
    # ---- bad input -----------------------------------------------------------------------
    "input.invalid": {
        "tr": "Girilen değer geçersiz. Kontrol edip yeniden girin.",
        "en": "The value entered is not valid. Check it and enter it again.",
    },
    "input.pin_format": {
        "tr": "PIN yalnızca rakamlardan oluşmalıdır.",
        "en": "A PIN consists of digits only.",
    },
    "input.tckn": {
        "tr": "T.C. Kimlik No geçersiz: 11 haneli, 0 ile başlamayan ve kontrol hanesi doğru "
        "bir numara girin.",
        "en": "The T.C. Kimlik No is not valid: enter 11 digits, not starting with 0, with "
        "correct check digits.",
    },
    "input.verification_code": {
        "tr": "Doğrulama kodu {length} haneli olmalıdır.",
        "en": "The verification code has {length} digits.",
    },
    "input.sms_code": {
        "tr": "SMS onay kodu {length} haneli olmalıdır.",
        "en": "The SMS confirmation code has {length} digits.",
    },
    "input.policy": {
        "tr": "Yeni PIN kabul edilmedi: {reasons}",
        "en": "The new PIN was not accepted: {reasons}",
    },
    "input.policy.looks_like_code": {
        "tr": "Girilen {length} haneli değer bir doğrulama koduna benziyor. Doğrulama kodu "
        "yalnızca Kamu SM e-İmza uygulamasına girilir; PIN ya da PUK değildir.",
        "en": "The {length}-digit value looks like a verification code. A verification code is "
        "typed only into the Kamu SM e-İmza application; it is never a PIN or a PUK.",
    },
    "input.certificate": {
        "tr": "Sertifika okunamadı: veri bozuk ya da bir X.509 sertifikası değil.",
        "en": "The certificate could not be read: the data is damaged or not an X.509 certificate.",
    },
    # ---- PIN policy rules (listed together in input.policy) --------------------------------
    "rule.not_digits": {
        "tr": "PIN yalnızca rakamlardan oluşmalıdır.",
        "en": "The PIN must contain digits only.",
    },
    "rule.too_short": {
        "tr": "PIN en az {min_length} haneli olmalıdır.",
        "en": "The PIN must have at least {min_length} digits.",
    },
    "rule.too_long": {
        "tr": "PIN en fazla {max_length} haneli olmalıdır.",
        "en": "The PIN must have at most {max_length} digits.",
    },
    "rule.confirmation_mismatch": {
        "tr": "Yeni PIN Kodu ile Yeni PIN Kodu (Tekrar) aynı değil.",
        "en": "The new PIN and its confirmation differ.",
    },
    "rule.repeated_digit": {
        "tr": "PIN tek bir rakamın tekrarı olamaz.",
        "en": "The PIN cannot repeat a single digit.",
    },
    "rule.sequential": {
        "tr": "PIN artan ya da azalan ardışık rakamlardan oluşamaz.",
        "en": "The PIN cannot be an ascending or descending run of digits.",
    },
    "rule.contains_tckn": {
        "tr": "PIN T.C. Kimlik Numaranızı ya da onun bir bölümünü içeremez.",
        "en": "The PIN cannot contain your T.C. Kimlik No or part of it.",
    },
    "rule.birth_date": {
        "tr": "PIN doğum tarihinizi içeremez.",
        "en": "The PIN cannot contain your birth date.",
    },
    "rule.same_as_old": {
        "tr": "Yeni PIN eskisiyle aynı olamaz.",
        "en": "The new PIN cannot be the old one.",
    },
    "rule.looks_like_code": {
        "tr": "Girilen değer bir doğrulama koduna benziyor; doğrulama kodu PIN ya da PUK değildir.",
        "en": "The value looks like a verification code, which is never a PIN or a PUK.",
    },
    "rule.no_possible_length": {
        "tr": "Kartın kabul ettiği PIN uzunluğu ({min_length}-{max_length}) kurallarla uyuşmuyor.",
        "en": "The card's PIN length ({min_length}-{max_length}) does not fit the rules.",
    },
    # ---- single-use secrets --------------------------------------------------------------
    "authorization.error": {
        "tr": "Kilit çözme yetkisi kullanılamıyor. " + _NEW_CODE_TR,
        "en": "The unblock authorization cannot be used. " + _NEW_CODE_EN,
    },
    "authorization.spent": {
        "tr": "Bu kilit çözme yetkisi zaten kullanıldı. Portaldan yeni bir doğrulama kodu "
        'alın ("Tekrar Kod Al").',
        "en": "This unblock authorization has already been used. Get a new verification code "
        'from the portal ("Tekrar Kod Al").',
    },
    "authorization.expired": {
        "tr": "Kilit çözme yetkisinin süresi doldu. Portaldan yeni bir doğrulama kodu alın "
        '("Tekrar Kod Al").',
        "en": "The unblock authorization has expired. Get a new verification code from the "
        'portal ("Tekrar Kod Al").',
    },
    "authorization.wrong_card": {
        "tr": "Bu kilit çözme yetkisi başka bir kart içindir. Kodu girerken seçtiğiniz kartı "
        "takın ya da yeni bir kod alın.",
        "en": "This unblock authorization is for another card. Insert the card you chose with "
        "the code, or get a new code.",
    },
    # ---- token ---------------------------------------------------------------------------
    "token.error": {
        "tr": "Kart işlemi başarısız oldu. Kartı çıkarıp yeniden takın ve yeniden deneyin; "
        "sorun sürerse kart sürücüsünü yeniden kurun.",
        "en": "The card operation failed. Take the card out, insert it again and retry; if this "
        "goes on, reinstall the card driver.",
    },
    "token.module_not_found": {
        "tr": "PKCS#11 kütüphanesi bulunamadı ya da yüklenemedi. AKİS kart sürücüsünü kurun "
        "ya da KAMUSM_PKCS11_MODULE ile yolunu belirtin. Denenen yerler: {tried}",
        "en": "No PKCS#11 module could be found or loaded. Install the AKİS card driver or "
        "name its path in KAMUSM_PKCS11_MODULE. Places tried: {tried}",
    },
    "module_search.no_such_file": {"tr": "dosya yok", "en": "no such file"},
    "module_search.wrong_architecture": {
        "tr": "mimari uymuyor: modül {built} için derlenmiş, bu Python {host} üzerinde çalışıyor",
        "en": "wrong architecture: the module is built for {built}, this Python runs on {host}",
    },
    "module_search.wrong_architecture.mac": {
        "tr": "mimari uymuyor: modül {built} için derlenmiş, bu Mac {host}; bu Mac'e uygun AKİS "
        "paketini (Intel ya da Apple Silicon) kurun",
        "en": "wrong architecture: the module is built for {built}, this Mac is {host}; install "
        "the AKİS package for this Mac (Intel or Apple Silicon)",
    },
    "module_search.wrong_architecture.windows": {
        "tr": "mimari uymuyor: modül {built} için derlenmiş; 64 bit Windows'ta {bits} bit Python "
        "{bits} bit modülü ister ({folder} klasöründe)",
        "en": "wrong architecture: the module is built for {built}; a {bits}-bit Python on 64-bit "
        "Windows needs the {bits}-bit module (in {folder})",
    },
    "module_search.not_loadable": {
        "tr": "yüklenemedi ya da başlatılamadı",
        "en": "could not be loaded or initialised",
    },
    "token.not_found": {
        "tr": "Kart bulunamadı. Kartınızın takılı olduğundan emin olun.",
        "en": "No card was found. Make sure your card is inserted.",
    },
    "token.ambiguous": {
        "tr": "Birden fazla kart takılı: {candidates}. Hangi kartın kullanılacağını seçin.",
        "en": "Several cards are inserted: {candidates}. Choose which card to use.",
    },
    "token.removed": {
        "tr": "Kart işlem sırasında çıkarıldı. Kartı takıp yeniden deneyin.",
        "en": "The card was removed during the operation. Insert it and try again.",
    },
    "token.busy": {
        "tr": "Kart başka bir uygulama tarafından kullanılıyor. Doküman yönetim sistemini "
        "(DYS/EBYS) ve kartı kullanan diğer uygulamaları kapatıp yeniden deneyin.",
        "en": "Another application is using the card. Close the document management system "
        "(DYS/EBYS) and any other application using the card, then try again.",
    },
    "token.pin_incorrect": {
        "tr": "Hatalı PIN.",
        "en": "Wrong PIN.",
    },
    "token.pin_incorrect.final_try": {
        "tr": "Hatalı PIN. Bir sonraki hatalı girişte PIN kilitlenecektir.",
        "en": "Wrong PIN. The next wrong entry will lock the PIN.",
    },
    "token.pin_incorrect.locked": {
        "tr": "Hatalı PIN. PIN kilitlendi. {route}",
        "en": "Wrong PIN. The PIN is now locked. {route}",
    },
    "token.pin_locked": {
        "tr": "PIN kilitli. {route}",
        "en": "The PIN is locked. {route}",
    },
    "token.final_try": {
        "tr": "Bu, PIN için son deneme hakkınız: bir hatalı giriş daha PIN'i kilitler. "
        "Devam etmek için bunu açıkça onaylamanız gerekir.",
        "en": "This is the last try for the PIN: one more wrong entry locks it. You have to "
        "confirm explicitly to go on.",
    },
    "token.pin_rejected": {
        "tr": "Kart yeni PIN'i kabul etmedi (uzunluk ya da biçim uygun değil).",
        "en": "The card did not accept the new PIN (length or format not allowed).",
    },
    "token.pin_not_initialized": {
        "tr": "Kartta henüz PIN belirlenmemiş. {route}",
        "en": "The card has no PIN yet. {route}",
    },
    "token.so_locked": {
        "tr": "Kartın yönetici kilidi açılamıyor; kart kullanılamaz durumda. Kamu SM ile "
        "iletişime geçin (444 5 576).",
        "en": "The card's administrator lock cannot be opened; the card is unusable. Contact "
        "Kamu SM (444 5 576).",
    },
    "token.so_final_try": {
        "tr": "Kartın yönetici (PUK) denemesi son hakkında; kartın kullanılamaz hale gelmemesi "
        "için işlem yapılmadı. Kamu SM ile iletişime geçin (444 5 576).",
        "en": "The card's administrator (PUK) tries are down to the last one; nothing was done, "
        "so that the card is not made unusable. Contact Kamu SM (444 5 576).",
    },
    "token.so_count_low": {
        "tr": "Kartta yönetici şifresiyle (PUK) daha önce yapılmış hatalı bir deneme görünüyor; "
        "kartın kilitlenmeye yaklaşmaması için deneme yapılmadı ve kart değiştirilmedi. Kamu SM "
        "ile iletişime geçin (444 5 576).",
        "en": "The card shows an earlier wrong attempt with its administrator credential (PUK); "
        "nothing was tried and the card was not changed, so that it comes no closer to locking. "
        "Contact Kamu SM (444 5 576).",
    },
    "token.so_credential_unknown": {
        "tr": "Kartta hangi yönetici şifresinin (PUK) kayıtlı olduğu kesin bilinmiyor; kartın "
        "kilitlenmemesi için başka deneme yapılmadı. Kamu SM ile iletişime geçin (444 5 576).",
        "en": "It is not certain which administrator credential (PUK) the card holds; nothing "
        "more was tried, so that the card does not lock. Contact Kamu SM (444 5 576).",
    },
    "token.unblock_failed": {
        "tr": "Kartın kilidi çözülemedi. Kart değiştirilmedi; yeni bir doğrulama kodu ile "
        "yeniden deneyin.",
        "en": "The card could not be unblocked. The card was not changed; try again with a new "
        "verification code.",
    },
    # ---- the reader and the card's ATR (kamusm.pcsc, kamusm.atr) ---------------------------
    "pcsc.no_service": {
        "tr": "Akıllı kart hizmeti ({service}) çalışmıyor; kart okuyucular görülemiyor.",
        "en": "The smart-card service ({service}) is not running; no card reader can be seen.",
    },
    "pcsc.busy.programs": {
        "tr": "Akıllı kart hizmetine bağlı programlar: {programs}.",
        "en": "Programs connected to the smart-card service: {programs}.",
    },
    "pcsc.busy.unknown": {
        "tr": "Kartı hangi programın tuttuğu bu sistemde öğrenilemiyor.",
        "en": "This system does not tell which program holds the card.",
    },
    "atr.family.akis_v1": {"tr": "AKİS v1.0 (ilk seri)", "en": "AKİS v1.0 (first series)"},
    "atr.family.akis_uekae": {
        "tr": 'AKİS (eski seri, "UEKAE")',
        "en": 'AKİS (older series, "UEKAE")',
    },
    "atr.family.akis_tc": {
        "tr": 'AKİS (yeni seri, "TC", 2020 ve sonrası)',
        "en": 'AKİS (newer series, "TC", 2020 and later)',
    },
    "atr.family.akis_v3": {"tr": "AKİS v3 (SAHA serisi)", "en": "AKİS v3 (SAHA series)"},
    "atr.family.akis_other": {
        "tr": "AKİS (bilinmeyen seri)",
        "en": "AKİS (unknown series)",
    },
    "atr.family.other": {
        "tr": "AKİS olmayan bir kart",
        "en": "a card other than AKİS",
    },
    # ---- portal --------------------------------------------------------------------------
    "portal.error": {
        "tr": "Kamu SM portalı ile işlem başarısız oldu. Biraz sonra yeniden deneyin.",
        "en": "The operation with the Kamu SM portal failed. Try again shortly.",
    },
    "portal.connection": {
        "tr": "Kamu SM portalına bağlanılamadı. İnternet bağlantınızı kontrol edin.",
        "en": "The Kamu SM portal could not be reached. Check your network connection.",
    },
    "portal.timeout": {
        "tr": "Kamu SM portalı zamanında yanıt vermedi. Biraz sonra yeniden deneyin.",
        "en": "The Kamu SM portal did not answer in time. Try again shortly.",
    },
    "portal.tls": {
        "tr": "Kamu SM portalının kimliği doğrulanamadı: sunucunun TLS sertifikası güvenilir "
        "değil. Bağlanılan adresi kontrol edin; bilgi girmeyin.",
        "en": "The Kamu SM portal's identity could not be verified: the server's TLS "
        "certificate is not trusted. Check the address; do not enter anything.",
    },
    "portal.auth_required": {
        "tr": "Oturumunuz sona erdi ya da giriş yapılmadı. e-Devlet ile yeniden giriş yapın.",
        "en": "Your session has ended or you are not logged in. Log in again through e-Devlet.",
    },
    "portal.login_failed": {
        "tr": "Giriş bilgileri doğrulanamadı. Bilgilerinizi kontrol edip yeniden deneyin.",
        "en": "The login details could not be verified. Check them and try again.",
    },
    "portal.method_unavailable": {
        "tr": "Bu giriş yöntemi bu kurulumda kullanılamıyor; başka bir giriş yöntemi seçin.",
        "en": "This login method is not available in this deployment; choose another one.",
    },
    "portal.code_invalid": {
        "tr": "Doğrulama kodu hatalı. Portalda gösterilen kodu yeniden girin.",
        "en": "The verification code is wrong. Type the code the portal shows again.",
    },
    "portal.code_expired": {
        "tr": 'Doğrulama kodunun süresi doldu. Portalda "Tekrar Kod Al" ile yeni bir kod alın.',
        "en": 'The verification code has expired. Get a new one on the portal with "Tekrar '
        'Kod Al".',
    },
    "portal.code_used": {
        "tr": 'Bu doğrulama kodu daha önce kullanıldı. Portalda "Tekrar Kod Al" ile yeni bir '
        "kod alın.",
        "en": "This verification code has been used already. Get a new one on the portal "
        'with "Tekrar Kod Al".',
    },
    "portal.sms_rejected": {
        "tr": "SMS onay kodu hatalı. Kalan deneme hakkı: {attempts_remaining}.",
        "en": "The SMS confirmation code is wrong. Attempts left: {attempts_remaining}.",
    },
    "portal.sms_rejected.one": {
        "tr": "SMS onay kodu hatalı. Kalan deneme hakkı: 1. Bir hatalı giriş daha işlemi iptal "
        "eder.",
        "en": "The SMS confirmation code is wrong. One attempt left: one more wrong answer "
        "cancels the operation.",
    },
    "portal.sms_expired": {
        "tr": "SMS onay kodunun süresi doldu. Doğrulama kodunuz geçerli olduğu sürece yeni bir "
        "SMS onay kodu isteyebilirsiniz.",
        "en": "The SMS confirmation code has expired. While your verification code is still "
        "valid you can ask for a new SMS code.",
    },
    "portal.sms_expired.web_password": {
        "tr": "WEB Parola için verilen süre doldu. Doğrulama kodunuz geçerli olduğu sürece WEB "
        "Parola yeniden sorulabilir.",
        "en": "The time for entering the web password ran out. While your verification code "
        "is still valid the web password can be asked for again.",
    },
    "portal.cancelled": {
        "tr": "İşlem iptal edildi. Portaldan yeni bir doğrulama kodu alarak baştan başlayın.",
        "en": "The operation was cancelled. Start again with a new verification code from "
        "the portal.",
    },
    "portal.card_not_owned": {
        "tr": "Bu kart doğrulama kodunu alan kişiye ait değil. Kendi kartınızı seçin; kartınızda "
        "bir değişiklik yapılmadı.",
        "en": "This card does not belong to the person the verification code was issued to. "
        "Choose your own card; no card was changed.",
    },
    "portal.forbidden": {
        "tr": "Bu işlem için yetkiniz yok. Gerekirse portala yeniden giriş yapın.",
        "en": "You are not allowed to do this. Log in to the portal again if needed.",
    },
    # A refusal's reason, told as why and what to do (the reason stays on the error).
    "portal.forbidden.origin": {
        "tr": "Portal isteği reddetti: istek portalın kendi sayfasından değil, başka bir "
        "siteden geldi. Bu işlemi yalnızca Kamu SM portalının kendi sayfasından ya da Kamu SM "
        "e-İmza uygulamasından yapın; sizi buraya yönlendiren sayfaya güvenmeyin.",
        "en": "The portal refused the request: it came from another site, not from the "
        "portal's own page. Do this only on the Kamu SM portal's own page or in the Kamu SM "
        "e-İmza application; do not trust the page that sent you here.",
    },
    "portal.forbidden.sifreli_giris_required": {
        "tr": 'Kartın ilk PIN bilgisi yalnızca "Şifreli Giriş" ile açılan oturumda '
        'gösterilir. Çıkış yapıp "Şifreli Giriş" ile (T.C. Kimlik No, güvenlik sözcüğü ve '
        "SMS onayı) yeniden giriş yapın.",
        "en": 'The card\'s initial PIN is shown only in a session opened with "Şifreli Giriş". '
        'Log out and log in again with "Şifreli Giriş" (T.C. Kimlik No, security word and SMS '
        "confirmation).",
    },
    "portal.not_found": {
        "tr": "İstenen kayıt bulunamadı. Kart ya da sertifika seri numarasını kontrol edin.",
        "en": "The requested record was not found. Check the card or certificate serial number.",
    },
    "portal.conflict": {
        "tr": "İstenen işlem kaydın şu anki durumuna uymuyor; sayfayı yenileyip yeniden deneyin.",
        "en": "The request does not fit the record's current state; reload and try again.",
    },
    # A conflict's reason, told as what happened and what to do (the reason stays on the error).
    "portal.conflict.product_mismatch": {
        "tr": "Doğrulama kodu bu kartın ürünü için alınmamış. Kartınızın ürününe ait yoldan "
        "(NES ya da Mali Mühür) yeni bir doğrulama kodu alın.",
        "en": "The verification code was not issued for this card's product. Get a new code "
        "on the route of your card's product (NES or Mali Mühür).",
    },
    "portal.conflict.no_card_for_product": {
        "tr": "Bu ürün için adınıza kayıtlı bir kart yok. Kartınız başka bir ürüne aitse (NES ya "
        'da Mali Mühür) o ürünün yolunu izleyin: Mali Mühür için "Mali Mühür PIN '
        'Oluşturma/Değiştirme", NES için "PIN Oluşturma/Kilit Çözme".',
        "en": "No card of this product is registered to you. If your card is of the other "
        'product (NES or Mali Mühür), take its route: "Mali Mühür PIN Oluşturma/Değiştirme" for '
        'Mali Mühür, "PIN Oluşturma/Kilit Çözme" for NES.',
    },
    "portal.conflict.initial_pin_already_shown": {
        "tr": "Kartın ilk PIN bilgisi daha önce gösterildi ya da silindi; yeniden gösterilemez. "
        'PIN\'inizi bilmiyorsanız "PIN Oluşturma/Kilit Çözme" ile yeni PIN belirleyin.',
        "en": "The card's initial PIN was shown or deleted before and cannot be shown again. If "
        'you do not know your PIN, set a new one with "PIN Oluşturma/Kilit Çözme".',
    },
    "portal.conflict.too_many_challenges": {
        "tr": "Bu işlem için izin verilen sayıda SMS onay kodu gönderildi. " + _NEW_CODE_TR,
        "en": "As many SMS confirmation codes as allowed were sent for this operation. "
        + _NEW_CODE_EN,
    },
    "portal.conflict.already_authorized": {
        "tr": "Bu işlem zaten onaylandı; ikinci kez onaylanamaz. " + _NEW_CODE_TR,
        "en": "This operation has been confirmed already and cannot be confirmed twice. "
        + _NEW_CODE_EN,
    },
    "portal.conflict.operation_in_progress": {
        "tr": "Bu kart için onaylanmış bir PIN işlemi sürüyor. O işlem bitene ya da süresi "
        "dolana kadar bekleyip yeniden deneyin.",
        "en": "A confirmed PIN operation for this card is still under way. Wait until it ends or "
        "expires, then try again.",
    },
    "portal.conflict.already_confirmed": {
        "tr": "Bu giriş zaten onaylandı. Yeniden giriş yapın.",
        "en": "This login has been confirmed already. Log in again.",
    },
    "portal.conflict.so_credential_unknown": {
        "tr": "Portal, kartta hangi yönetici şifresinin (PUK) kayıtlı olduğunu bilemiyor: son "
        "iki işlemin sonucu bildirilmedi. Kamu SM ile iletişime geçin (444 5 576).",
        "en": "The portal cannot tell which administrator credential (PUK) the card holds: the "
        "results of the last two resets never arrived. Contact Kamu SM (444 5 576).",
    },
    "portal.conflict.no_challenge": {
        "tr": "Henüz SMS onay kodu istenmedi. Önce yeni PIN'i girip onay kodu isteyin.",
        "en": "No SMS confirmation code was asked for yet. Enter the new PIN first, then ask "
        "for the code.",
    },
    "portal.conflict.not_authorized": {
        "tr": "Bu işlem henüz onaylanmadı; sonuç bildirilemez. " + _NEW_CODE_TR,
        "en": "This operation has not been confirmed yet, so no result can be reported. "
        + _NEW_CODE_EN,
    },
    "portal.conflict.certificate_active": {
        "tr": "Sertifika zaten kullanımda; askıya alınmamış.",
        "en": "The certificate is in use already; it is not suspended.",
    },
    "portal.conflict.certificate_suspended": {
        "tr": 'Sertifika askıda. "Askıdan İndirme" ile yeniden kullanıma açabilirsiniz.',
        "en": 'The certificate is suspended. "Askıdan İndirme" makes it usable again.',
    },
    "portal.conflict.certificate_revoked": {
        "tr": "Sertifika iptal edilmiş; bu işlem yapılamaz. İptal geri alınamaz: yeni sertifika "
        "için başvurun (Başvuru İşlemleri).",
        "en": "The certificate has been revoked, so this cannot be done. A revocation cannot be "
        "undone: apply for a new certificate (Başvuru İşlemleri).",
    },
    "portal.conflict.holder_exists": {
        "tr": "Bu T.C. Kimlik No ile bir kart sahibi zaten kayıtlı.",
        "en": "A holder with this T.C. Kimlik No is registered already.",
    },
    "portal.conflict.card_exists": {
        "tr": "Bu seri numaralı kart zaten kayıtlı.",
        "en": "A card with this serial number is registered already.",
    },
    "portal.conflict.certificate_exists": {
        "tr": "Bu seri numaralı sertifika zaten kayıtlı.",
        "en": "A certificate with this serial number is registered already.",
    },
    "portal.conflict.clock_not_manual": {
        "tr": "Deneme portalının saati elle yönetilmiyor; saat ileri alınamaz.",
        "en": "The sandbox's clock is not a manual one, so it cannot be moved.",
    },
    "portal.rate_limited": {
        "tr": "Çok fazla hatalı deneme yapıldı. {retry_after} saniye sonra yeniden deneyin.",
        "en": "Too many failed attempts. Try again in {retry_after} seconds.",
    },
    "portal.rate_limited.one": {
        "tr": "Çok fazla hatalı deneme yapıldı. 1 saniye sonra yeniden deneyin.",
        "en": "Too many failed attempts. Try again in a second.",
    },
    "portal.server": {
        "tr": "Kamu SM portalında bir sorun oluştu. Biraz sonra yeniden deneyin.",
        "en": "The Kamu SM portal had a problem. Try again shortly.",
    },
    "portal.protocol": {
        "tr": "Kamu SM portalından beklenmeyen bir yanıt geldi. " + _UPDATE_TR,
        "en": "The Kamu SM portal sent an unexpected answer. " + _UPDATE_EN,
    },
    "portal.bad_request": {
        "tr": "Portal isteği kabul etmedi: istek sözleşmeye uymuyor. " + _UPDATE_TR,
        "en": "The portal did not accept the request: it does not follow the contract. "
        + _UPDATE_EN,
    },
    "portal.bad_request.payload_too_large": {
        "tr": "Portal isteği kabul etmedi: gönderilen veri çok büyük. " + _UPDATE_TR,
        "en": "The portal did not accept the request: it is too large. " + _UPDATE_EN,
    },
    "portal.bad_request.method_not_allowed": {
        "tr": "Portal bu isteği bu yolla kabul etmiyor. " + _UPDATE_TR,
        "en": "The portal does not take this request this way. " + _UPDATE_EN,
    },
    "portal.bad_request.unsupported_media_type": {
        "tr": "Portal isteği kabul etmedi: isteğin içeriği JSON biçiminde değil. " + _UPDATE_TR,
        "en": "The portal did not accept the request: its body is not JSON. " + _UPDATE_EN,
    },
    "portal.bad_request.misdirected_request": {
        "tr": "Portal isteği kabul etmedi: istek bu sunucunun hizmet vermediği bir adla "
        "gönderildi. Portal adresini denetleyin.",
        "en": "The portal did not accept the request: it was sent under a name this server does "
        "not serve. Check the portal address.",
    },
    "portal.bad_request.confirmation_required": {
        "tr": "Sertifikanın iptali için açık onayınız gerekiyor; iptal geri alınamaz.",
        "en": "Revoking the certificate needs your explicit confirmation; it cannot be undone.",
    },
    "portal.web_password_rejected": {
        "tr": "WEB Parola hatalı. Kalan deneme hakkı: {attempts_remaining}.",
        "en": "The web password (WEB Parola) is wrong. Attempts left: {attempts_remaining}.",
    },
    "portal.web_password_rejected.one": {
        "tr": "WEB Parola hatalı. Kalan deneme hakkı: 1. Bir hatalı giriş daha işlemi iptal eder.",
        "en": "The web password (WEB Parola) is wrong. One attempt left: one more wrong answer "
        "cancels the operation.",
    },
    # ---- flows ---------------------------------------------------------------------------
    "flow.error": {
        "tr": "PIN işlemi tamamlanamadı. Baştan başlayın.",
        "en": "The PIN operation could not be completed. Start again.",
    },
    "flow.illegal": {
        "tr": "Bu adım şu anda yapılamaz; işlem sırası bozuldu. Baştan başlayın.",
        "en": "This step is not possible now; the steps came out of order. Start again.",
    },
    "flow.failed": {
        "tr": "İşlem daha önce başarısız oldu; baştan başlayın.",
        "en": "The operation has already failed; start again.",
    },
    "flow.code_expired": {
        "tr": 'Doğrulama kodunun süresi doldu. Portalda "Tekrar Kod Al" ile yeni bir kod '
        "alın ve baştan başlayın.",
        "en": 'The verification code has expired. Get a new one on the portal with "Tekrar '
        'Kod Al" and start again.',
    },
    "flow.pin_entry_timeout": {
        "tr": "PIN girişi için verilen süre doldu. " + _NEW_CODE_TR,
        "en": "The time allowed for entering the PIN ran out. " + _NEW_CODE_EN,
    },
    "flow.cancelled": {
        "tr": "İşlem iptal edildi. Kartınızda bir değişiklik yapılmadı.",
        "en": "The operation was cancelled. Your card was not changed.",
    },
    "flow.new_sms_declined": {
        "tr": "Yeni SMS onay kodu istenmedi; işlem sonlandırıldı. Kartınızda bir değişiklik "
        'yapılmadı. Yeniden denemek için portalda "Tekrar Kod Al" ile yeni bir doğrulama kodu '
        "alın.",
        "en": "No new SMS confirmation code was wanted, so the operation has ended. Your card "
        'was not changed. To try again, get a new verification code on the portal with "Tekrar '
        'Kod Al".',
    },
    "flow.new_sms_declined.web_password": {
        "tr": "WEB Parola yeniden sorulmadı; işlem sonlandırıldı. Kartınızda bir değişiklik "
        'yapılmadı. Yeniden denemek için portalda "Tekrar Kod Al" ile yeni bir doğrulama kodu '
        "alın.",
        "en": "The web password was not to be asked for again, so the operation has ended. Your "
        "card was not changed. To try again, get a new verification code on the portal with "
        '"Tekrar Kod Al".',
    },
    "flow.sms_limit.web_password": {
        "tr": "WEB Parola için verilen süre doldu. Bu işlemde WEB Parola izin verilen sayıda "
        "soruldu, yeniden sorulamaz; kartınızda bir değişiklik yapılmadı. " + _NEW_CODE_TR,
        "en": "The time for entering the web password ran out. This operation has asked for it "
        "as many times as it allows, so it cannot be asked for again; your card was not "
        "changed. " + _NEW_CODE_EN,
    },
    "flow.sms_limit": {
        "tr": "SMS onay kodunun süresi doldu. Bu işlem için izin verilen sayıda SMS onay kodu "
        "gönderildiğinden yeni bir SMS istenemez; kartınızda bir değişiklik yapılmadı. "
        + _NEW_CODE_TR,
        "en": "The SMS confirmation code has expired. As many SMS codes as this operation "
        "allows have been sent, so no new one can be asked for; your card was not changed. "
        + _NEW_CODE_EN,
    },
    "flow.wrong_holder": {
        "tr": "Seçilen kart doğrulama kodunu alan kişiye ait değil. Kendi kartınızı seçin; "
        "kartta bir değişiklik yapılmadı.",
        "en": "The chosen card does not belong to the person the verification code was issued "
        "to. Choose your own card; the card was not changed.",
    },
    "flow.wrong_product": {
        "tr": "Seçilen kartta {product} sertifikası yok. Kartta bir değişiklik yapılmadı.",
        "en": "The chosen card holds no {product} certificate. The card was not changed.",
    },
    "flow.wrong_product.other": {
        "tr": "Seçilen kartta {product} sertifikası yok; bu bir {found} kartı ve kartta bir "
        "değişiklik yapılmadı. {route}",
        "en": "The chosen card holds no {product} certificate; it is a {found} card, and it was "
        "not changed. {route}",
    },
    "flow.wrong_card": {
        "tr": "Seçilen kart, doğrulama kodunun kullanıldığı kart değil. Kodu girerken seçtiğiniz "
        "kartı takın ya da yeni bir kod alın.",
        "en": "The chosen card is not the card the verification code was redeemed for. Insert "
        "the card you chose with the code, or get a new code.",
    },
    "flow.too_many_attempts": {
        "tr": "Onay kodu {attempts} kez hatalı girildi; işlem iptal edildi. " + _NEW_CODE_TR,
        "en": "The confirmation code was wrong {attempts} times; the operation was cancelled. "
        + _NEW_CODE_EN,
    },
    "flow.too_many_attempts.one": {
        "tr": "Onay kodu hatalı girildi; işlem iptal edildi. " + _NEW_CODE_TR,
        "en": "The confirmation code was wrong; the operation was cancelled. " + _NEW_CODE_EN,
    },
    "flow.certificate_revoked": {
        "tr": "Kartınızdaki {product} sertifikası iptal edilmiş; bu kartla artık imza "
        "atılamaz, bu yüzden PIN belirlenmedi. İptal geri alınamaz. {advice}",
        "en": "The {product} certificate on your card has been revoked; the card can no longer "
        "sign, so no PIN was set. A revocation cannot be undone. {advice}",
    },
    "flow.certificate_expired": {
        "tr": "Kartınızdaki {product} sertifikasının süresi {expiry} tarihinde doldu; bu kartla "
        "artık imza atılamaz, bu yüzden PIN belirlenmedi. {advice}",
        "en": "The {product} certificate on your card expired on {expiry}; the card can no longer "
        "sign, so no PIN was set. {advice}",
    },
    "flow.certificate_expired.undated": {
        "tr": "Kartınızdaki {product} sertifikasının süresi doldu; bu kartla artık imza "
        "atılamaz, bu yüzden PIN belirlenmedi. {advice}",
        "en": "The {product} certificate on your card has expired; the card can no longer sign, "
        "so no PIN was set. {advice}",
    },
    # What to do next, by the card's product: seed 001 names "Başvuru İşlemleri" as the NES
    # application and seed 004 the new NES card's PIN ("Şifreli Giriş", Nitelikli
    # Elektronik Sertifika İşlemleri). The guides name no such route for Mali Mühür: its
    # advice names none, and sends the holder to Kamu SM's call centre (444 5 576).
    "advice.revoked.nes": {
        "tr": "Portalda yeni sertifika için başvurun (Başvuru İşlemleri).",
        "en": "Apply for a new certificate on the portal (Başvuru İşlemleri).",
    },
    "advice.revoked.other": {
        "tr": "Yeni bir {product} sertifikası için başvurmanız gerekir; nasıl başvurulacağını "
        "Kamu SM Çağrı Merkezi (444 5 576) bildirir.",
        "en": "A new {product} certificate has to be applied for; Kamu SM's call centre "
        "(444 5 576) tells you how.",
    },
    "advice.expired.nes": {
        "tr": "Yeni e-imza yeni bir kartla ve yeni bir PIN ile gelir: yeni kartınızın PIN'ini "
        '"Şifreli Giriş" ile Nitelikli Elektronik Sertifika İşlemleri sayfasından alın.',
        "en": "A new e-signature comes with a new card and a new PIN: get the new card's PIN "
        'through "Şifreli Giriş" on the Nitelikli Elektronik Sertifika İşlemleri page.',
    },
    "advice.expired.other": {
        "tr": "Yeni bir {product} sertifikası için başvurmanız gerekir; nasıl başvurulacağını "
        "ve yeni PIN kodunun nasıl alınacağını Kamu SM Çağrı Merkezi (444 5 576) bildirir.",
        "en": "A new {product} certificate has to be applied for; Kamu SM's call centre "
        "(444 5 576) tells you how, and how to get its PIN.",
    },
    "flow.certificate_suspended": {
        "tr": "Kartınızdaki {product} sertifikası askıda. PIN belirlenebilir, ancak imza atmak "
        'için sertifikayı portalda "Askıdan İndirme" ile yeniden kullanıma açın.',
        "en": "The {product} certificate on your card is suspended. The PIN can be set, but to "
        'sign, re-activate the certificate on the portal with "Askıdan İndirme".',
    },
    "flow.certificate_not_yet_valid": {
        "tr": "Kartınızdaki {product} sertifikası henüz geçerli değil; {start} tarihinden "
        "itibaren imza atılabilir. PIN şimdi belirlenebilir.",
        "en": "The {product} certificate on your card is not valid yet; it can sign from "
        "{start}. The PIN can be set now.",
    },
    "flow.certificate_not_yet_valid.undated": {
        "tr": "Kartınızdaki {product} sertifikası henüz geçerli değil; geçerlilik başladığında "
        "imza atılabilir. PIN şimdi belirlenebilir.",
        "en": "The {product} certificate on your card is not valid yet; it can sign once its "
        "validity begins. The PIN can be set now.",
    },
    "flow.certificate_not_on_card": {
        "tr": "Portal, bu kartta bulunmayan sertifikalar için de durum bildirdi (seri no: "
        "{serials}). Bu sertifikalar kartınızda değil; durumları bu kartı etkilemez. Başka bir "
        "kartınız varsa onu ayrıca denetleyin.",
        "en": "The portal also gave a status for certificates that are not on this card "
        "(serial numbers: {serials}). They are not on your card, so their status does not "
        "concern it. If you have another card, check it separately.",
    },
    "flow.certificate_not_listed": {
        "tr": "Kartınızdaki sertifikalardan bazıları portalın listesinde yok (seri no: "
        "{serials}); durumları portaldan doğrulanamadı. PIN belirlenebilir; sorun sürerse Kamu "
        "SM ile iletişime geçin (444 5 576).",
        "en": "Some certificates on your card are not on the portal's list (serial numbers: "
        "{serials}); the portal could not confirm their status. The PIN can be set; if this "
        "goes on, contact Kamu SM (444 5 576).",
    },
    "flow.locked_use_reset": {
        "tr": "PIN kilitli; değiştirilemez. {route}",
        "en": "The PIN is locked and cannot be changed. {route}",
    },
    "flow.busy": {
        "tr": "Bu kart için başka bir PIN işlemi sürüyor. O işlem bitince yeniden deneyin.",
        "en": "Another PIN operation is in progress for this card. Try again once it ends.",
    },
    "flow.verify_failed": {
        "tr": "Yeni PIN karta yazıldı ancak doğrulanamadı. Kartı çıkarıp takın ve yeni PIN ile "
        "giriş yapmayı deneyin.",
        "en": "The new PIN was written but could not be verified. Take the card out, insert it "
        "again and try logging in with the new PIN.",
    },
    # ---- the route of each product -------------------------------------------------------
    "route.nes": {"tr": _PORTAL_ROUTE_TR, "en": _PORTAL_ROUTE_EN},
    "route.mali_muhur": {"tr": _ROUTE_MALI_MUHUR_TR, "en": _ROUTE_MALI_MUHUR_EN},
    "route.any": {"tr": _ROUTE_ANY_TR, "en": _ROUTE_ANY_EN},
    # ---- product names -------------------------------------------------------------------
    "product.nes": {
        "tr": "NES (nitelikli elektronik sertifika)",
        "en": "NES (qualified e-signature)",
    },
    "product.mali_muhur": {"tr": "Mali Mühür", "en": "Mali Mühür (financial seal)"},
    "token.describe": {"tr": "{label} (seri no {serial})", "en": "{label} (serial {serial})"},
    # ---- certificates (kamusm.certs) -----------------------------------------------------
    "certificate_kind.nes": {
        "tr": "Nitelikli elektronik sertifika (NES)",
        "en": "Qualified e-signature certificate (NES)",
    },
    "certificate_kind.mali_muhur_signing": {
        "tr": "Mali Mühür (imza)",
        "en": "Mali Mühür (signing)",
    },
    "certificate_kind.mali_muhur_encryption": {
        "tr": "Mali Mühür (şifreleme)",
        "en": "Mali Mühür (encryption)",
    },
    "certificate_kind.qualified_seal": {
        "tr": "Kurumsal Mühür",
        "en": "Qualified seal (Kurumsal Mühür)",
    },
    "certificate_kind.test": {"tr": "Test sertifikası", "en": "Test certificate"},
    "certificate_kind.other": {"tr": "Diğer sertifika", "en": "Other certificate"},
    "certificate.describe": {
        "tr": "{name} · {kind} · seri no {serial} · son geçerlilik {expiry}",
        "en": "{name} · {kind} · serial {serial} · valid until {expiry}",
    },
    # ---- readiness to sign (kamusm.readiness): the state, then what to do next -----------
    "readiness.ready": {
        "tr": "Kart imzaya hazır: {certificate}.",
        "en": "The card is ready to sign: {certificate}.",
    },
    "readiness.wrong_pin_seen": {
        "tr": "Bu kartta daha önce hatalı PIN girilmiş. PIN'i dikkatle girin.",
        "en": "A wrong PIN was entered on this card before. Type the PIN carefully.",
    },
    "readiness.final_try": {
        "tr": "Son deneme hakkı: bir sonraki hatalı girişte PIN kilitlenecektir.",
        "en": "Final try: the next wrong PIN will lock the card.",
    },
    "readiness.locked": {
        "tr": "PIN kilitli. Bu kartla imza atılamaz.",
        "en": "The PIN is locked. This card cannot sign.",
    },
    "readiness.pin_not_initialized": {
        "tr": "Bu kartın PIN'i henüz oluşturulmamış.",
        "en": "This card has no PIN yet.",
    },
    "readiness.no_signing_certificate": {
        "tr": "Kartta imza atabilecek bir sertifika yok.",
        "en": "The card holds no certificate that can sign.",
    },
    "readiness.expired": {
        "tr": "İmza sertifikasının süresi {date} tarihinde doldu.",
        "en": "The signing certificate expired on {date}.",
    },
    "readiness.not_yet_valid": {
        "tr": "İmza sertifikası {date} tarihinde geçerli olacak; henüz kullanılamaz.",
        "en": "The signing certificate becomes valid on {date}; it cannot be used yet.",
    },
    "readiness.expiring": {
        "tr": "İmza sertifikasının süresi {days} gün sonra ({date}) doluyor.",
        "en": "The signing certificate expires in {days} days ({date}).",
    },
    "readiness.not_qualified": {
        "tr": "Karttaki imza sertifikası nitelikli değil; resmi belgeler bununla imzalanamaz.",
        "en": "The card's signing certificate is not qualified; official documents cannot be "
        "signed with it.",
    },
    "readiness.short.ready": {"tr": "hazır", "en": "ready"},
    "readiness.short.wrong_pin_seen": {
        "tr": "hazır, hatalı PIN görüldü",
        "en": "ready, a wrong PIN was seen",
    },
    "readiness.short.final_try": {"tr": "son deneme hakkı", "en": "final try"},
    "readiness.short.locked": {"tr": "PIN kilitli", "en": "PIN locked"},
    "readiness.short.pin_not_initialized": {"tr": "PIN yok", "en": "no PIN"},
    "readiness.short.no_signing_certificate": {
        "tr": "imza sertifikası yok",
        "en": "no signing certificate",
    },
    "readiness.short.expired": {"tr": "sertifika süresi dolmuş", "en": "certificate expired"},
    "readiness.short.not_yet_valid": {
        "tr": "sertifika henüz geçerli değil",
        "en": "certificate not yet valid",
    },
    "readiness.short.expiring": {
        "tr": "hazır, sertifika süresi doluyor",
        "en": "ready, certificate expiring",
    },
    "readiness.short.not_qualified": {"tr": "nitelikli değil", "en": "not qualified"},
    "next.ask_pin": {
        "tr": "PIN'i sorun ve imzalayın.",
        "en": "Ask for the PIN and sign.",
    },
    "next.ask_pin_carefully": {
        "tr": "PIN'i sorun; kişiyi kalan deneme hakkı konusunda uyarın.",
        "en": "Ask for the PIN, warning the person about the tries left.",
    },
    "next.acknowledge_final_try": {
        "tr": "Kişiye son deneme hakkı olduğunu söyleyin ve onayını alın; emin değilse PIN "
        "sormayın.",
        "en": "Tell the person this is the final try and get their agreement; if they are not "
        "sure, do not ask for the PIN.",
    },
    "next.reset_pin.nes": {
        "tr": "PIN sormayın. " + _PORTAL_ROUTE_TR,
        "en": "Do not ask for the PIN. " + _PORTAL_ROUTE_EN,
    },
    "next.reset_pin.mali_muhur": {
        "tr": "PIN sormayın. Kamu SM Online İşlemler sayfasında "
        '"Mali Mühür PIN Oluşturma/Değiştirme" ile yeni PIN belirleyin. PUK kullanmayın.',
        "en": "Do not ask for the PIN. Set a new PIN through the Kamu SM online portal: "
        '"Mali Mühür PIN Oluşturma/Değiştirme". Do not use the PUK.',
    },
    "next.renew_certificate": {
        "tr": "PIN sormayın. Sertifikanızı Kamu SM üzerinden yenileyin.",
        "en": "Do not ask for the PIN. Renew the certificate through Kamu SM.",
    },
    "next.renew_soon": {
        "tr": "İmzalayabilirsiniz; sertifikanızı süresi dolmadan yenileyin.",
        "en": "You can sign; renew the certificate before it expires.",
    },
    "next.wait_until_valid": {
        "tr": "PIN sormayın. Sertifikanın geçerlilik başlangıcını bekleyin.",
        "en": "Do not ask for the PIN. Wait until the certificate becomes valid.",
    },
    "next.use_another_card": {
        "tr": "PIN sormayın. Nitelikli imza sertifikası taşıyan kartı takın.",
        "en": "Do not ask for the PIN. Insert the card that holds a qualified signing certificate.",
    },
    # ---- signing (kamusm.token signing sessions, kamusm.signing) -------------------------
    "error.not_ready_to_sign": {
        "tr": "İmza atılmadı: {reason}",
        "en": "Nothing was signed: {reason}",
    },
    "error.unattended_refused": {
        "tr": "Gözetimsiz imza durduruldu: kartta hatalı PIN girildiği görüldü. Kalan deneme "
        "hakları kullanılmadı; bir görevli kartı kontrol etmeli.",
        "en": "Unattended signing stopped: the card shows a wrong PIN was entered. No remaining "
        "try was spent; an operator must check the card.",
    },
    "error.signing_key_not_found": {
        "tr": "Kartta imza sertifikasına ait özel anahtar bulunamadı.",
        "en": "The card holds no private key for the signing certificate.",
    },
    "error.signing_session_closed": {
        "tr": "İmza oturumu kapandı; yeniden PIN girilmeli.",
        "en": "The signing session is closed; the PIN must be entered again.",
    },
    "error.signing_session_open": {
        "tr": "Bu programda bu kart için açık bir imza oturumu zaten var; yeni oturum açmadan "
        "önce onu kapatın ya da imzaları onunla atın. PIN denenmedi.",
        "en": "This program already has a signing session open on this card; close it, or sign "
        "through it, before opening another. The PIN was not tried.",
    },
    "error.signature_scheme": {
        "tr": "Bu imza yöntemi bu anahtarla kullanılamaz: {scheme}.",
        "en": "This signature scheme cannot be used with this key: {scheme}.",
    },
    "error.digest_length": {
        "tr": "Özetin uzunluğu {length} bayt; {scheme} yöntemi başka uzunlukta özet bekler. "
        "Hiçbir şey imzalanmadı.",
        "en": "The digest is {length} bytes long; the scheme {scheme} expects another length. "
        "Nothing was signed.",
    },
    "error.not_a_pdf": {
        "tr": "İmzalanacak dosya okunabilir bir PDF değil; hiçbir şey imzalanmadı.",
        "en": "The file to sign is not a readable PDF; nothing was signed.",
    },
    "error.certificate_file": {
        "tr": "Sertifika dosyasında okunabilir bir sertifika yok (PEM dosyası ya da tek DER "
        "sertifika bekleniyordu).",
        "en": "The certificate file holds no certificate that can be read (a PEM bundle or one "
        "DER certificate was expected).",
    },
    "error.pdf_signing": {
        "tr": "Belge bu imzayı kabul etmiyor (imza alanı {field} dolu olabilir ya da belge yeni "
        "imzaya kapalı); hiçbir şey imzalanmadı.",
        "en": "The document does not take this signature (the signature field {field} may be "
        "filled, or the document may forbid further signatures); nothing was signed.",
    },
    "error.timestamp_server": {
        "tr": "Zaman damgası sunucusuna ulaşılamadı ya da geçerli bir yanıt gelmedi ({url}); "
        "hiçbir şey imzalanmadı.",
        "en": "The timestamp server could not be reached or gave no usable answer ({url}); "
        "nothing was signed.",
    },
    "card.summary": {
        "tr": "{name} · T.C. Kimlik No {tckn} · {products} · son geçerlilik {expiry}",
        "en": "{name} · T.C. Kimlik No {tckn} · {products} · valid until {expiry}",
    },
    "card.summary.organisation": {
        "tr": "{name} · {products} · son geçerlilik {expiry}",
        "en": "{name} · {products} · valid until {expiry}",
    },
}


def format_date(day: date | None, lang: Language = DEFAULT_LANGUAGE) -> str:
    """A date as a holder reads it: ``DD.MM.YYYY`` in Turkish (as the portal shows it),
    ``YYYY-MM-DD`` in English; ``-`` when there is none."""
    if day is None:
        return "-"
    return day.strftime("%d.%m.%Y") if lang == "tr" else day.isoformat()


def text(key: str, lang: Language = DEFAULT_LANGUAGE, /, **fields: object) -> str:
    """Return the message ``key`` in ``lang``, with ``fields`` filled in.

    Raises ``KeyError`` for an unknown key and ``ValueError`` for an unknown language: both
    are programming errors, never a holder's.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {LANGUAGES}")
    return MESSAGES[key][lang].format(**fields)
