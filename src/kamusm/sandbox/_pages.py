"""The sandbox's training pages: the holder's side of the portal as a browser shows it.

Served under ``/portal`` beside the JSON API when the sandbox runs with ``training=True``
(``kamusm sandbox serve --training``), so that a training room needs nothing but a browser:

- "Online İşlemler", "e-Devlet ile Giriş" (T.C. Kimlik No and e-Devlet password) and "Şifreli
  Giriş" (T.C. Kimlik No or passport number, the captcha as an image, the güvenlik sözcüğü,
  then the SMS Onay screen);
- NES İşlemleri → Bireysel İşlemler; the NES / Mali Mühür choice; "PIN Oluşturma/Kilit Çözme"
  with the verification code, a copy button, "Kalan süre: N saniye" and "Tekrar Kod Al";
- Sertifika Listeleme, Askıdan İndirme, Sertifikamı İptal Et (with its confirmation), and
  "PIN/PUK Bilgisi" with "Sil" (Şifreli Giriş sessions only);
- "Telefon": the SMS messages the sandbox sent to a phone number. This page is why the pages
  are opt-in: with them on, anyone who can reach the sandbox reads its SMS codes, which is
  what a training room wants and what the API alone never allows (its outbox is admin-only).

The pages call :class:`~kamusm.sandbox.SandboxPortal` directly: every rule is the portal's.
The session token lives in an HttpOnly, SameSite=Strict cookie; every page answers only to a
loopback ``Host`` (no DNS rebinding); every ``POST`` must come from the page's own origin and,
once logged in, carry the session's CSRF token. No query strings,
no inline script (a Content-Security-Policy says so), every asset served here.
This module renders with the standard library only (Jinja2 belongs to ``kamusm.app``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from kamusm.messages import Language
from kamusm.sandbox._portal import ApiError, SandboxPortal
from kamusm.values import Product

__all__ = ["training_routes"]

log = logging.getLogger(__name__)

PREFIX: Final = "/portal"
_SESSION: Final = "kamusm_portal"
_PENDING: Final = "kamusm_portal_pending"
_LANG: Final = "kamusm_portal_lang"
_STATIC_DIR: Final = Path(__file__).parent / "static"
_STATIC: Final = {
    "portal.css": "text/css; charset=utf-8",
    "portal.js": "text/javascript; charset=utf-8",
}
_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_MAX_FORM: Final = 4096
_CAPTCHAS_KEPT: Final = 256

Handler = Callable[[Request], Awaitable[Response]]

# ---- texts ---------------------------------------------------------------------------------

_T: Final[Mapping[str, Mapping[Language, str]]] = {
    "site": {"tr": "Kamu SM Online İşlemler (eğitim)", "en": "Kamu SM online portal (training)"},
    "training": {
        "tr": "Bu bir eğitim ortamıdır: gerçek kartlar ve gerçek SMS yoktur.",
        "en": "This is a training portal: no real card and no real SMS.",
    },
    "lang": {"tr": "English", "en": "Türkçe"},
    "logout": {"tr": "Çıkış", "en": "Log out"},
    "back": {"tr": "Geri", "en": "Back"},
    "phone_link": {"tr": "Telefon (gelen SMS'ler)", "en": "Phone (SMS received)"},
    "online": {"tr": "Online İşlemler", "en": "Online operations (Online İşlemler)"},
    "online_intro": {
        "tr": "Kamu Sertifikasyon Merkezi online işlemlerine giriş yönteminizi seçiniz.",
        "en": "Choose how to log in to the Kamu SM online operations.",
    },
    "edevlet_login": {
        "tr": "e-Devlet ile Giriş",
        "en": "Log in with e-Devlet (e-Devlet ile Giriş)",
    },
    "sifreli": {"tr": "Şifreli Giriş", "en": "Password login (Şifreli Giriş)"},
    "sifreli_hint": {
        "tr": "Nitelikli Elektronik Sertifika İşlemleri: T.C. Kimlik No ya da pasaport "
        "numarası, resimdeki yazı ve güvenlik sözcüğü ile giriş.",
        "en": "Qualified certificate operations: log in with a T.C. Kimlik No or passport "
        "number, the text in the picture and your security word.",
    },
    "edevlet_hint": {
        "tr": "e-Devlet kapısında kimliğinizi doğrulayarak giriş.",
        "en": "Log in by proving who you are at the e-Devlet gateway.",
    },
    "edevlet_methods": {
        "tr": "Giriş yöntemleri: e-Devlet Şifresi, Mobil İmza, Elektronik İmza, T.C. Kimlik "
        "Kartı, İnternet Bankacılığı. Bu eğitim ortamında yalnızca e-Devlet Şifresi çalışır.",
        "en": "Login methods: e-Devlet password, mobile signature, e-signature, ID card, "
        "internet banking. In this training portal only the e-Devlet password works.",
    },
    "tckn": {"tr": "T.C. Kimlik No", "en": "T.C. Kimlik No"},
    "edevlet_password": {"tr": "e-Devlet Şifresi", "en": "e-Devlet password"},
    "login_button": {"tr": "Sisteme Giriş Yap", "en": "Log in (Sisteme Giriş Yap)"},
    "id_number": {
        "tr": "Kimlik No (T.C. Kimlik Numarası ya da Pasaport Numarası)",
        "en": "ID number (T.C. Kimlik No or passport number)",
    },
    "captcha": {"tr": "Resimdeki Yazı", "en": "Text in the picture (Resimdeki Yazı)"},
    "captcha_alt": {
        "tr": "Doğrulama resmi: harf ve rakamlar",
        "en": "Verification picture: letters and digits",
    },
    "captcha_hint": {
        "tr": "Yukarıda gördüğünüz metni Resimdeki Yazı alanına giriniz.",
        "en": "Type the text you see above into the field.",
    },
    "captcha_new": {"tr": "Yenile", "en": "New picture (Yenile)"},
    "security_word": {"tr": "Güvenlik Sözcüğü", "en": "Security word (Güvenlik Sözcüğü)"},
    "security_note": {
        "tr": "Güvenlik sözcüğü, e-imza başvurusunda belirlediğiniz sözcüktür; evrak "
        "imzaladığınız PIN değildir.",
        "en": "The security word is the word you chose when you applied; it is not the PIN "
        "you sign with.",
    },
    "giris": {"tr": "Giriş", "en": "Log in (Giriş)"},
    "sms_screen": {"tr": "SMS Onay Ekranı", "en": "SMS confirmation (SMS Onay)"},
    "sms_phone": {"tr": "Telefon Numaranız: {phone}", "en": "Your phone number: {phone}"},
    "sms_intro": {
        "tr": "Bireysel İşlemler menüsüne giriş için yukarıdaki telefona bir SMS Onay Kodu "
        "gönderildi. Numara size ait değilse 444 5 576 numaralı Çağrı Merkezini arayınız.",
        "en": "An SMS confirmation code was sent to the phone above to let you into the "
        "individual operations. If the number is not yours, call 444 5 576.",
    },
    "sms_code": {"tr": "SMS Onay Kodu", "en": "SMS confirmation code (SMS Onay Kodu)"},
    "onay": {"tr": "Onay", "en": "Confirm (Onay)"},
    "nes": {"tr": "NES İşlemleri", "en": "Qualified certificate operations (NES İşlemleri)"},
    "nes_intro": {
        "tr": "Lütfen aşağıdaki butonları kullanarak yapmak istediğiniz işlemi seçiniz.",
        "en": "Choose the operation you want with the buttons below.",
    },
    "bireysel": {"tr": "Bireysel İşlemler", "en": "Individual operations (Bireysel İşlemler)"},
    "bireysel_hint": {
        "tr": "Bireysel İşlemler menüsü için tıklayınız.",
        "en": "The individual operations menu.",
    },
    "yetkili": {"tr": "Yetkili İşlemleri", "en": "Officer operations (Yetkili İşlemleri)"},
    "yetkili_hint": {
        "tr": "Kurum e-imza yetkilileri içindir; bu eğitim ortamında yoktur.",
        "en": "For institution officers; not in this training portal.",
    },
    "basvuru": {"tr": "Başvuru İşlemleri", "en": "Applications (Başvuru İşlemleri)"},
    "not_here": {
        "tr": "Bu eğitim ortamında yoktur.",
        "en": "Not in this training portal.",
    },
    "listeleme": {"tr": "Sertifika Listeleme", "en": "Certificate list (Sertifika Listeleme)"},
    "listeleme_hint": {
        "tr": "Nitelikli elektronik sertifikalarınıza ait ayrıntılar.",
        "en": "The details of your qualified certificates.",
    },
    "askidan": {"tr": "Askıdan İndirme", "en": "Re-activate (Askıdan İndirme)"},
    "askidan_hint": {
        "tr": "Askıya alınmış sertifikanızı tekrar kullanıma açmak için tıklayınız.",
        "en": "Put a suspended certificate back into use.",
    },
    "pin_op": {"tr": "PIN Oluşturma/Kilit Çözme", "en": "Create or unblock PIN"},
    "pin_op_hint": {
        "tr": "Kartınızın kilidini çözmek ve yeni bir PIN üretmek için tıklayınız.",
        "en": "Unblock your card and set a new PIN.",
    },
    "iptal": {"tr": "Sertifikamı İptal Et", "en": "Revoke my certificate (Sertifikamı İptal Et)"},
    "iptal_hint": {
        "tr": "Sertifikanızı tekrar kullanılmayacak şekilde iptal etmek için tıklayınız.",
        "en": "Revoke a certificate for good.",
    },
    "eonay": {"tr": "E-Onay İşlemleri", "en": "E-approval (E-Onay İşlemleri)"},
    "pinpuk": {"tr": "PIN/PUK Bilgisi", "en": "PIN/PUK information (PIN/PUK Bilgisi)"},
    "pinpuk_hint": {
        "tr": "Yeni kartınızın ilk PIN'ini görmek için (yalnızca Şifreli Giriş ile).",
        "en": "See your new card's first PIN (Şifreli Giriş only).",
    },
    "choose_product": {"tr": "Kilit Çözme Yardım", "en": "Unblocking help"},
    "nes_pin": {"tr": "NES PIN Oluşturma/Değiştirme", "en": "NES: create or change PIN"},
    "nes_pin_hint": {
        "tr": "E-İmza kullanan kamu kurum ve kuruluş çalışanları",
        "en": "Staff of public institutions who use an e-signature",
    },
    "mm_pin": {
        "tr": "Mali Mühür PIN Oluşturma/Değiştirme",
        "en": "Mali Mühür: create or change PIN",
    },
    "mm_pin_hint": {
        "tr": "E-fatura, e-defter, e-arşiv ve e-irsaliye kullanan mükellefler",
        "en": "Taxpayers who use e-fatura, e-defter, e-arşiv and e-irsaliye",
    },
    "code_page": {"tr": "PIN Oluşturma/Kilit Çözme", "en": "Create or unblock PIN"},
    "keep_open": {
        "tr": "İşlem sırasında bu sayfayı kapatmayınız.",
        "en": "Do not close this page during the operation.",
    },
    "step1": {
        "tr": "Kartınızı bilgisayarınıza takınız.",
        "en": "Insert your card into the computer.",
    },
    "step2": {
        "tr": "Kamu SM e-İmza uygulamasını açınız (bu eğitimde: kamusm app).",
        "en": "Open the Kamu SM e-signature application (in this training: kamusm app).",
    },
    "step3": {
        "tr": "Aşağıdaki doğrulama kodunu kopyalayıp uygulamaya yapıştırınız.",
        "en": "Copy the verification code below and paste it into the application.",
    },
    "step4": {
        "tr": "Uygulamada kartınızı seçip yeni PIN'inizi belirleyiniz.",
        "en": "In the application, choose your card and set your new PIN.",
    },
    "code_warning": {
        "tr": "Bu doğrulama kodunu yalnızca Kamu SM e-İmza uygulamasında kullanınız. PUK kodu "
        "olarak AKİS Kart İzleme Aracında kesinlikle kullanmayınız.",
        "en": "Use this verification code only in the Kamu SM e-signature application. Never "
        "use it as a PUK in the AKİS card tool.",
    },
    "code_label": {"tr": "Doğrulama Kodu", "en": "Verification code (Doğrulama Kodu)"},
    "copy": {"tr": "Kodu kopyalamak için tıklayınız.", "en": "Click to copy the code."},
    "copied": {"tr": "Kod kopyalandı.", "en": "The code was copied."},
    "remaining": {"tr": "Kalan süre: {seconds} saniye", "en": "Time left: {seconds} seconds"},
    "expired": {
        "tr": "Kodun süresi doldu. Tekrar Kod Al ile yeni kod alınız.",
        "en": "The code has expired. Get a new one with Tekrar Kod Al.",
    },
    "again": {"tr": "Tekrar Kod Al", "en": "Get a new code (Tekrar Kod Al)"},
    "cert_serial": {"tr": "Seri Numarası", "en": "Serial number"},
    "cert_card": {"tr": "Kart", "en": "Card"},
    "cert_product": {"tr": "Ürün", "en": "Product"},
    "cert_subject": {"tr": "Sahibi", "en": "Subject"},
    "cert_valid": {"tr": "Geçerlilik", "en": "Validity"},
    "cert_status": {"tr": "Durum", "en": "Status"},
    "status.active": {"tr": "Geçerli", "en": "Active"},
    "status.suspended": {"tr": "Askıda", "en": "Suspended"},
    "status.revoked": {"tr": "İptal edildi", "en": "Revoked"},
    "status.expired": {"tr": "Süresi doldu", "en": "Expired"},
    "suspend": {"tr": "Askıya Al", "en": "Suspend"},
    "reactivate": {"tr": "Askıdan İndir", "en": "Re-activate (Askıdan İndir)"},
    "revoke": {"tr": "İptal Et", "en": "Revoke (İptal Et)"},
    "no_certs": {"tr": "Listelenecek sertifika yok.", "en": "No certificate to list."},
    "no_suspended": {"tr": "Askıda sertifikanız yok.", "en": "You have no suspended certificate."},
    "revoke_confirm": {
        "tr": "Sertifika İptal Onayı",
        "en": "Confirm the revocation",
    },
    "revoke_text": {
        "tr": "{serial} seri numaralı sertifika bir daha kullanılamayacak şekilde iptal "
        "edilecektir. İptal edilen sertifika ücret karşılığı yenilenir.",
        "en": "The certificate with serial {serial} will be revoked for good. A revoked "
        "certificate is renewed for a fee.",
    },
    "revoke_ack": {
        "tr": "Sertifikamın kalıcı olarak iptal edileceğini anladım",
        "en": "I understand my certificate will be revoked for good",
    },
    "done_suspended": {"tr": "Sertifika askıya alındı.", "en": "The certificate was suspended."},
    "done_reactivated": {
        "tr": "Sertifika tekrar kullanıma açıldı.",
        "en": "The certificate is in use again.",
    },
    "done_revoked": {"tr": "Sertifika iptal edildi.", "en": "The certificate was revoked."},
    "pinpuk_title": {"tr": "PIN ve PUK Bilgileri", "en": "PIN and PUK information"},
    "pinpuk_note1": {
        "tr": "Güvenliğiniz için PIN bilgisi kimseyle paylaşılmamalı ve hiçbir yerde kayıtlı "
        "kalmamalıdır. PIN bilgisinin güvenliği kart sahibinin sorumluluğundadır.",
        "en": "For your safety, share the PIN with nobody and keep it written nowhere. The "
        "PIN's safety is the card holder's responsibility.",
    },
    "pinpuk_note2": {
        "tr": "Sil butonuna basıldığında PIN bilginiz Kamu SM tarafından da erişilemeyecek "
        "şekilde kalıcı olarak silinir; silinmesi önerilir.",
        "en": "Sil deletes the PIN for good, so that not even Kamu SM can read it; deleting "
        "it is recommended.",
    },
    "pinpuk_note3": {
        "tr": "Kilit çözme için PUK kodu kullanılmaz: AKİS Kart İzleme Aracında 3 hatalı PUK "
        "denemesi kartı kullanılamaz hâle getirir.",
        "en": "Unblocking never uses the PUK: three wrong PUKs in the AKİS card tool make the "
        "card unusable.",
    },
    "pinpuk_note4": {
        "tr": "Kartın PIN'i değiştirildikten sonra burada gösterilen PIN geçerliliğini yitirir.",
        "en": "Once the card's PIN is changed, the PIN shown here is no longer valid.",
    },
    "card_serial": {"tr": "Kart Seri Numarası", "en": "Card serial number"},
    "pin": {"tr": "PIN", "en": "PIN"},
    "show": {"tr": "Göster", "en": "Show"},
    "delete": {"tr": "Sil", "en": "Delete (Sil)"},
    "deleted": {"tr": "PIN bilgisi silindi.", "en": "The PIN information was deleted."},
    "no_cards": {"tr": "Kartınız bulunamadı.", "en": "No card of yours was found."},
    "phone_title": {"tr": "Telefon", "en": "Phone"},
    "phone_intro": {
        "tr": "Eğitim telefonu: kayıtlı telefon numaranıza gönderilen SMS'leri gösterir.",
        "en": "The training phone: shows the SMS messages sent to your registered number.",
    },
    "phone_number": {"tr": "Telefon numaranız", "en": "Your phone number"},
    "phone_show": {"tr": "Mesajları göster", "en": "Show the messages"},
    "phone_none": {"tr": "Bu numaraya gelen SMS yok.", "en": "No SMS for this number."},
    "phone_refresh": {"tr": "Yenile", "en": "Reload"},
    "sms_at": {"tr": "{at} tarihinde gelen SMS", "en": "SMS received at {at}"},
    "refused": {"tr": "İstek reddedildi.", "en": "Request refused."},
    "login_needed": {
        "tr": "Oturumunuz yok ya da süresi doldu. Lütfen yeniden giriş yapınız.",
        "en": "You are not logged in, or the session has ended. Please log in again.",
    },
}

#: The portal's refusal codes as a holder reads them.
_ERRORS: Final[Mapping[str, Mapping[Language, str]]] = {
    "login_failed": {
        "tr": "Giriş bilgileri doğrulanamadı.",
        "en": "The login details could not be verified.",
    },
    "login_method_unavailable": {
        "tr": "Bu giriş yöntemi bu ortamda kullanılamaz.",
        "en": "This login method is not available here.",
    },
    "rate_limited": {
        "tr": "Çok fazla hatalı deneme. Lütfen {seconds} saniye sonra yeniden deneyiniz.",
        "en": "Too many failed attempts. Please try again in {seconds} seconds.",
    },
    "sms_code_rejected": {
        "tr": "SMS onay kodu hatalı. Kalan deneme hakkı: {attempts}.",
        "en": "The SMS code is wrong. Attempts left: {attempts}.",
    },
    "sms_code_expired": {
        "tr": "SMS onay kodunun süresi doldu. Lütfen yeniden giriş yapınız.",
        "en": "The SMS code has expired. Please log in again.",
    },
    "operation_cancelled": {
        "tr": "Çok fazla hatalı deneme: işlem iptal edildi. Lütfen yeniden giriş yapınız.",
        "en": "Too many wrong attempts: cancelled. Please log in again.",
    },
    "authentication_required": _T["login_needed"],
    "forbidden": {
        "tr": "Bu işlem yalnızca Şifreli Giriş ile yapılabilir.",
        "en": "This needs a Şifreli Giriş login.",
    },
    "not_found": {"tr": "Kayıt bulunamadı.", "en": "Not found."},
    "conflict": {
        "tr": "Bu işlem şu anki durumda yapılamaz.",
        "en": "This cannot be done in the current state.",
    },
    "conflict.no_card_for_product": {
        "tr": "Bu ürün için kayıtlı kartınız yok.",
        "en": "You have no card registered for this product.",
    },
    "conflict.initial_pin_already_shown": {
        "tr": "Bu PIN bilgisi daha önce gösterildi; bir kez gösterilir.",
        "en": "This PIN was shown already; it is shown only once.",
    },
    "bad_request": {"tr": "İstek anlaşılamadı.", "en": "The request is not understood."},
}


def _t(key: str, lang: Language, /, **fields: object) -> str:
    return _T[key][lang].format(**fields)


def _error_text(err: ApiError, lang: Language) -> str:
    if err.code == "rate_limited":
        return _ERRORS["rate_limited"][lang].format(seconds=err.retry_after or 60)
    if err.code == "sms_code_rejected":
        return _ERRORS["sms_code_rejected"][lang].format(attempts=err.attempts_remaining)
    entry = _ERRORS.get(f"{err.code}.{err.reason}") or _ERRORS.get(err.code)
    return entry[lang] if entry is not None else _t("refused", lang)


# ---- rendering -----------------------------------------------------------------------------


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{_e(name)}" value="{_e(value)}">'


def _button_form(action: str, label: str, *, fields: Mapping[str, str], css: str = "") -> str:
    inner = "".join(_hidden(k, v) for k, v in fields.items())
    cls = f' class="{css}"' if css else ""
    return (
        f'<form method="post" action="{PREFIX}{action}" class="inline" autocomplete="off">'
        f'{inner}<button type="submit"{cls}>{_e(label)}</button></form>'
    )


def _tile(href: str | None, title: str, hint: str) -> str:
    if href is None:
        return f'<div class="tile off"><h3>{_e(title)}</h3><p>{_e(hint)}</p></div>'
    name = href.strip("/")
    return (
        f'<a class="tile" id="tile-{name}" href="{PREFIX}{href}"><h3>{_e(title)}</h3>'
        f"<p>{_e(hint)}</p></a>"
    )


class _Pages:
    """Every page's handler, around one :class:`SandboxPortal`."""

    def __init__(self, portal: SandboxPortal) -> None:
        self.portal = portal
        self.codes = portal.settings.code_length
        self._captchas: OrderedDict[str, str] = OrderedDict()
        # The masked phone of each Şifreli Giriş waiting for its SMS (nothing secret).
        self._phones: OrderedDict[str, str] = OrderedDict()

    # -- plumbing --

    @staticmethod
    def lang(request: Request) -> Language:
        return "en" if request.cookies.get(_LANG) == "en" else "tr"

    def session(self, request: Request) -> tuple[int, str, str] | None:
        token = request.cookies.get(_SESSION)
        if not token:
            return None
        try:
            holder_id, method = self.portal.session(token)
        except ApiError:
            return None
        return holder_id, method, token

    @staticmethod
    def csrf(token: str) -> str:
        return hmac.new(token.encode(), b"kamusm-portal-csrf", hashlib.sha256).hexdigest()[:32]

    def page(
        self,
        request: Request,
        title: str,
        body: str,
        *,
        status: int = 200,
        error: str | None = None,
        notice: str | None = None,
    ) -> HTMLResponse:
        lang = self.lang(request)
        logged = self.session(request)
        csrf = {"csrf": self.csrf(logged[2])} if logged else {}
        logout = _button_form("/cikis", _t("logout", lang), fields=csrf) if logged else ""
        switch = _button_form("/dil", _t("lang", lang), fields={}, css="secondary")
        alert = f'<p class="error" role="alert" id="error">{_e(error)}</p>' if error else ""
        info = f'<p class="notice" role="status" id="notice">{_e(notice)}</p>' if notice else ""
        html = (
            f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)} · {_e(_t('site', lang))}</title>"
            f'<link rel="stylesheet" href="{PREFIX}/static/portal.css">'
            f'<script src="{PREFIX}/static/portal.js" defer></script></head><body>'
            f'<header><a class="brand" href="{PREFIX}/">{_e(_t("site", lang))}</a>'
            f'<nav><a href="{PREFIX}/telefon" id="phone-link">{_e(_t("phone_link", lang))}</a>'
            f"{switch}{logout}</nav></header>"
            f'<p class="training">{_e(_t("training", lang))}</p>'
            f"<main><h1>{_e(title)}</h1>{alert}{info}{body}</main></body></html>"
        )
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    @staticmethod
    def see(path: str, *, cookies: Mapping[str, str | None] | None = None) -> Response:
        response = RedirectResponse(f"{PREFIX}{path}", status_code=303, headers=_HEADERS)
        for name, value in (cookies or {}).items():
            if value is None:
                response.delete_cookie(name, path=PREFIX)
            else:
                response.set_cookie(name, value, httponly=True, samesite="strict", path=PREFIX)
        return response

    async def form(self, request: Request, *, csrf: str | None = None) -> dict[str, str]:
        """The ``POST`` body, after the same-origin check (and the CSRF check once logged
        in); a refusal page for anything else."""
        host = request.headers.get("host", "")
        origin = request.headers.get("origin")
        if origin is None or origin.split("://", 1)[-1] != host:
            raise _PageRefused()
        body = await request.body()
        if len(body) > _MAX_FORM:
            raise _PageRefused()
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise _PageRefused() from None
        fields = dict(pairs)
        if len(fields) != len(pairs):
            raise _PageRefused()
        if csrf is not None and not hmac.compare_digest(fields.pop("csrf", ""), csrf):
            raise _PageRefused()
        return fields

    def client(self, request: Request) -> str:
        return request.client.host if request.client is not None else "unknown"

    def logged_in(self, request: Request) -> tuple[int, str, str]:
        found = self.session(request)
        if found is None:
            raise _LoginNeeded()
        return found

    def route(self, path: str, fn: Handler, methods: Iterable[str] = ("GET",)) -> Route:
        async def guarded(request: Request) -> Response:
            lang = self.lang(request)
            if not _loopback_host(request.headers.get("host", "")):
                # DNS rebinding: a page of another name that resolves here.
                return self.page(request, _t("refused", lang), "", status=403)
            try:
                return await fn(request)
            except _LoginNeeded:
                return self.see("/")
            except _PageRefused:
                return self.page(request, _t("refused", lang), "", status=403)
            except ApiError as err:
                return self.page(request, _t("refused", lang), "", error=_error_text(err, lang))

        return Route(f"{PREFIX}{path}", guarded, methods=list(methods))

    # -- landing, language, assets, logout --

    async def landing(self, request: Request) -> Response:
        lang = self.lang(request)
        if self.session(request) is not None:
            return self.see("/nes")
        body = (
            f'<p>{_e(_t("online_intro", lang))}</p><div class="tiles">'
            + _tile("/edevlet", _t("edevlet_login", lang), _t("edevlet_hint", lang))
            + _tile("/sifreli-giris", _t("sifreli", lang), _t("sifreli_hint", lang))
            + "</div>"
        )
        return self.page(request, _t("online", lang), body)

    async def switch_lang(self, request: Request) -> Response:
        await self.form(request)
        new = "tr" if self.lang(request) == "en" else "en"
        response = self.see("/")
        response.set_cookie(_LANG, new, httponly=True, samesite="strict", path=PREFIX)
        return response

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        kind = _STATIC.get(name)
        if kind is None:
            return Response(status_code=404, headers=_HEADERS)
        return Response((_STATIC_DIR / name).read_bytes(), media_type=kind, headers=_HEADERS)

    async def logout(self, request: Request) -> Response:
        found = self.logged_in(request)
        await self.form(request, csrf=self.csrf(found[2]))
        self.portal.logout(found[2])
        return self.see("/", cookies={_SESSION: None})

    # -- e-Devlet --

    def _edevlet_page(self, request: Request, error: str | None = None) -> Response:
        lang = self.lang(request)
        body = (
            f'<p class="note">{_e(_t("edevlet_methods", lang))}</p>'
            f'<form method="post" action="{PREFIX}/edevlet" class="panel" autocomplete="off">'
            f'<label for="tckn">{_e(_t("tckn", lang))}</label>'
            '<input id="tckn" name="tckn" type="text" inputmode="numeric" maxlength="11" '
            'autocomplete="off" required autofocus>'
            f'<label for="password">{_e(_t("edevlet_password", lang))}</label>'
            '<input id="password" name="password" type="password" maxlength="128" '
            'autocomplete="off" required>'
            f'<button type="submit" id="login">{_e(_t("login_button", lang))}</button></form>'
        )
        return self.page(request, _t("edevlet_login", lang), body, error=error)

    async def edevlet(self, request: Request) -> Response:
        if request.method == "GET":
            return self._edevlet_page(request)
        fields = await self.form(request)
        try:
            opened = self.portal.login_edevlet(
                tckn=fields.get("tckn", "")[:11],
                password=fields.get("password", "")[:128],
                method="password",
                client=self.client(request),
            )
        except ApiError as err:
            return self._edevlet_page(request, _error_text(err, self.lang(request)))
        return self.see("/nes", cookies={_SESSION: opened["session_token"]})

    # -- Şifreli Giriş --

    def _new_captcha(self) -> str:
        made = self.portal.new_captcha()
        self._captchas[made["captcha_id"]] = made["text"]
        while len(self._captchas) > _CAPTCHAS_KEPT:
            self._captchas.popitem(last=False)
        return str(made["captcha_id"])

    def _sifreli_page(self, request: Request, error: str | None = None) -> Response:
        lang = self.lang(request)
        captcha = self._new_captcha()
        body = (
            f'<form method="post" action="{PREFIX}/sifreli-giris" class="panel" '
            'autocomplete="off">'
            + _hidden("captcha_id", captcha)
            + f'<label for="id_number">{_e(_t("id_number", lang))}</label>'
            '<input id="id_number" name="id_number" type="text" maxlength="32" '
            'autocomplete="off" required autofocus>'
            f'<img class="captcha" id="captcha" src="{PREFIX}/captcha/{_e(captcha)}.svg" '
            f'alt="{_e(_t("captcha_alt", lang))}" width="180" height="56">'
            f'<p class="note">{_e(_t("captcha_hint", lang))} '
            f'<a href="{PREFIX}/sifreli-giris" id="captcha-new">{_e(_t("captcha_new", lang))}'
            "</a></p>"
            f'<label for="captcha_answer">{_e(_t("captcha", lang))}</label>'
            '<input id="captcha_answer" name="captcha_answer" type="text" maxlength="16" '
            'autocomplete="off" required>'
            f'<label for="security_word">{_e(_t("security_word", lang))}</label>'
            '<input id="security_word" name="security_word" type="password" maxlength="128" '
            'autocomplete="off" required>'
            f'<p class="note">{_e(_t("security_note", lang))}</p>'
            f'<button type="submit" id="login">{_e(_t("giris", lang))}</button></form>'
        )
        return self.page(request, _t("sifreli", lang), body, error=error)

    async def captcha_image(self, request: Request) -> Response:
        text = self._captchas.get(request.path_params["captcha_id"])
        if text is None:
            return Response(status_code=404, headers=_HEADERS)
        return Response(_captcha_svg(text), media_type="image/svg+xml", headers=_HEADERS)

    async def sifreli(self, request: Request) -> Response:
        if request.method == "GET":
            return self._sifreli_page(request)
        fields = await self.form(request)
        try:
            pending = self.portal.start_sifreli_giris(
                id_number=fields.get("id_number", "")[:32],
                captcha_id=fields.get("captcha_id", "")[:64],
                captcha_answer=fields.get("captcha_answer", "")[:32],
                security_word=fields.get("security_word", "")[:128],
                client=self.client(request),
            )
        except ApiError as err:
            return self._sifreli_page(request, _error_text(err, self.lang(request)))
        self._captchas.pop(fields.get("captcha_id", ""), None)
        self._phones[pending["pending_login_id"]] = pending["masked_phone"]
        while len(self._phones) > _CAPTCHAS_KEPT:
            self._phones.popitem(last=False)
        return self.see("/sms-onay", cookies={_PENDING: pending["pending_login_id"]})

    def _sms_page(self, request: Request, error: str | None = None) -> Response:
        lang = self.lang(request)
        pending = request.cookies.get(_PENDING, "")
        phone = self._phones.get(pending, "-")
        body = (
            f'<p id="masked-phone">{_e(_t("sms_phone", lang, phone=phone))}</p>'
            f"<p>{_e(_t('sms_intro', lang))}</p>"
            f'<form method="post" action="{PREFIX}/sms-onay" class="panel" autocomplete="off">'
            f'<label for="sms_code">{_e(_t("sms_code", lang))}</label>'
            '<input id="sms_code" name="sms_code" type="password" inputmode="numeric" '
            'maxlength="16" autocomplete="off" required autofocus>'
            f'<button type="submit" id="onay">{_e(_t("onay", lang))}</button></form>'
        )
        return self.page(request, _t("sms_screen", lang), body, error=error)

    async def sms(self, request: Request) -> Response:
        pending = request.cookies.get(_PENDING)
        if not pending:
            return self.see("/sifreli-giris")
        if request.method == "GET":
            return self._sms_page(request)
        fields = await self.form(request)
        try:
            opened = self.portal.confirm_sifreli_giris(
                pending_login_id=pending[:64],
                sms_code=fields.get("sms_code", "")[:16],
                client=self.client(request),
            )
        except ApiError as err:
            return self._sms_page(request, _error_text(err, self.lang(request)))
        self._phones.pop(pending, None)
        return self.see("/nes", cookies={_SESSION: opened["session_token"], _PENDING: None})

    # -- menus --

    async def nes(self, request: Request) -> Response:
        self.logged_in(request)
        lang = self.lang(request)
        body = (
            f'<p>{_e(_t("nes_intro", lang))}</p><div class="tiles">'
            + _tile("/bireysel", _t("bireysel", lang), _t("bireysel_hint", lang))
            + _tile(None, _t("yetkili", lang), _t("yetkili_hint", lang))
            + "</div>"
        )
        return self.page(request, _t("nes", lang), body)

    async def bireysel(self, request: Request) -> Response:
        _, method, _ = self.logged_in(request)
        lang = self.lang(request)
        tiles = [
            _tile(None, _t("basvuru", lang), _t("not_here", lang)),
            _tile("/sertifikalar", _t("listeleme", lang), _t("listeleme_hint", lang)),
            _tile("/askidan-indirme", _t("askidan", lang), _t("askidan_hint", lang)),
            _tile("/pin", _t("pin_op", lang), _t("pin_op_hint", lang)),
            _tile("/iptal", _t("iptal", lang), _t("iptal_hint", lang)),
            _tile(None, _t("eonay", lang), _t("not_here", lang)),
        ]
        if method == "sifreli_giris":
            tiles.append(_tile("/pin-puk", _t("pinpuk", lang), _t("pinpuk_hint", lang)))
        body = f'<div class="tiles">{"".join(tiles)}</div>'
        return self.page(request, _t("bireysel", lang), body)

    # -- PIN Oluşturma/Kilit Çözme --

    async def pin_choice(self, request: Request) -> Response:
        found = self.logged_in(request)
        lang = self.lang(request)
        csrf = {"csrf": self.csrf(found[2])}
        body = '<div class="tiles">'
        for product, title, hint in (
            (Product.NES, "nes_pin", "nes_pin_hint"),
            (Product.MALI_MUHUR, "mm_pin", "mm_pin_hint"),
        ):
            body += (
                f'<form method="post" action="{PREFIX}/pin" class="tile" autocomplete="off">'
                + "".join(_hidden(k, v) for k, v in {**csrf, "product": product.value}.items())
                + f'<button type="submit" id="product-{product.value}">{_e(_t(title, lang))}'
                f"</button><p>{_e(_t(hint, lang))}</p></form>"
            )
        body += "</div>"
        return self.page(request, _t("choose_product", lang), body)

    async def pin_code(self, request: Request) -> Response:
        holder_id, _, token = self.logged_in(request)
        fields = await self.form(request, csrf=self.csrf(token))
        lang = self.lang(request)
        try:
            product = Product(fields.get("product", ""))
        except ValueError:
            raise _PageRefused() from None
        issued = self.portal.start_pin_reset(holder_id, product)
        expires = datetime.fromisoformat(issued["expires_at"])
        seconds = max(0, int((expires - self.portal.clock.now()).total_seconds()))
        code = str(issued["verification_code"])
        steps = "".join(f"<li>{_e(_t(f'step{i}', lang))}</li>" for i in range(1, 5))
        again = _button_form(
            "/pin",
            _t("again", lang),
            fields={"csrf": self.csrf(token), "product": product.value},
            css="secondary again",
        )
        body = (
            f'<p class="subtitle">{_e(product.display(lang))}</p>'
            f'<p class="warning">{_e(_t("keep_open", lang))}</p><ol>{steps}</ol>'
            f'<p class="warning">{_e(_t("code_warning", lang))}</p>'
            f'<section class="panel code-box"><h2>{_e(_t("code_label", lang))}</h2>'
            f'<button type="button" class="link" id="copy" data-copy="verification-code" '
            f'data-done="{_e(_t("copied", lang))}">{_e(_t("copy", lang))}</button>'
            f'<p class="code" id="verification-code">{_e(code)}</p>'
            f'<p class="countdown" id="countdown" data-remaining="{seconds}" '
            f'data-template="{_e(_T["remaining"][lang])}" '
            f'data-expired="{_e(_t("expired", lang))}">'
            f"{_e(_t('remaining', lang, seconds=seconds))}</p>"
            f'<p class="copied" id="copied" role="status"></p>{again}</section>'
        )
        return self.page(request, _t("code_page", lang), body)

    # -- certificates --

    def _certificates(self, holder_id: int) -> list[dict[str, Any]]:
        return self.portal.list_certificates(holder_id)

    def _cert_table(
        self,
        request: Request,
        certs: list[dict[str, Any]],
        action: Callable[[dict[str, Any]], str] | None = None,
    ) -> str:
        lang = self.lang(request)
        heads = ["cert_serial", "cert_card", "cert_product", "cert_subject", "cert_valid"]
        head = "".join(f'<th scope="col">{_e(_t(h, lang))}</th>' for h in heads)
        head += f'<th scope="col">{_e(_t("cert_status", lang))}</th>'
        if action is not None:
            head += "<th></th>"
        rows = ""
        for c in certs:
            status = "expired" if c["expired"] and c["status"] == "active" else c["status"]
            valid = f"{_day(c['not_before'])} – {_day(c['not_after'])}"
            cells = [
                c["serial_number"],
                c["card_serial"],
                Product(c["product"]).display(lang),
                c["subject"],
                valid,
            ]
            row = "".join(f"<td>{_e(v)}</td>" for v in cells)
            row += f'<td class="status-{status}">{_e(_t(f"status.{status}", lang))}</td>'
            if action is not None:
                row += f"<td>{action(c)}</td>"
            rows += f'<tr id="cert-{_e(c["serial_number"])}">{row}</tr>'
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"

    async def certificates(self, request: Request) -> Response:
        holder_id, _, token = self.logged_in(request)
        lang = self.lang(request)
        certs = self._certificates(holder_id)
        csrf = self.csrf(token)

        def suspend(c: dict[str, Any]) -> str:
            if c["status"] != "active":
                return ""
            fields = {"csrf": csrf, "serial": c["serial_number"]}
            return _button_form("/sertifikalar/askiya-al", _t("suspend", lang), fields=fields)

        body = self._cert_table(request, certs, suspend) if certs else _t("no_certs", lang)
        return self.page(request, _t("listeleme", lang), body)

    async def suspend(self, request: Request) -> Response:
        holder_id, _, token = self.logged_in(request)
        fields = await self.form(request, csrf=self.csrf(token))
        self.portal.change_certificate(holder_id, fields.get("serial", "")[:64], "suspend")
        return self.page(
            request,
            _t("listeleme", self.lang(request)),
            "",
            notice=_t("done_suspended", self.lang(request)),
        )

    async def reactivate(self, request: Request) -> Response:
        holder_id, _, token = self.logged_in(request)
        lang = self.lang(request)
        csrf = self.csrf(token)
        notice = None
        if request.method == "POST":
            fields = await self.form(request, csrf=csrf)
            serial = fields.get("serial", "")[:64]
            self.portal.change_certificate(holder_id, serial, "reactivate")
            notice = _t("done_reactivated", lang)
        suspended = [c for c in self._certificates(holder_id) if c["status"] == "suspended"]

        def button(c: dict[str, Any]) -> str:
            fields = {"csrf": csrf, "serial": c["serial_number"]}
            return _button_form("/askidan-indirme", _t("reactivate", lang), fields=fields)

        body = (
            self._cert_table(request, suspended, button)
            if suspended
            else f"<p>{_e(_t('no_suspended', lang))}</p>"
        )
        return self.page(request, _t("askidan", lang), body, notice=notice)

    async def revoke(self, request: Request) -> Response:
        holder_id, _, token = self.logged_in(request)
        lang = self.lang(request)
        csrf = self.csrf(token)
        if request.method == "POST":
            fields = await self.form(request, csrf=csrf)
            serial = fields.get("serial", "")[:64]
            if fields.get("confirm") != "yes":
                body = (
                    f'<form method="post" action="{PREFIX}/iptal" class="panel warning" '
                    'autocomplete="off">'
                    + _hidden("csrf", csrf)
                    + _hidden("serial", serial)
                    + f"<p>{_e(_t('revoke_text', lang, serial=serial))}</p>"
                    '<p class="check"><input type="checkbox" id="confirm" name="confirm" '
                    f'value="yes" required> <label for="confirm">{_e(_t("revoke_ack", lang))}'
                    "</label></p>"
                    f'<button type="submit" id="revoke-confirm" class="danger">'
                    f"{_e(_t('revoke', lang))}</button></form>"
                )
                return self.page(request, _t("revoke_confirm", lang), body)
            self.portal.change_certificate(holder_id, serial, "revoke", confirm=True)
            return self.page(request, _t("iptal", lang), "", notice=_t("done_revoked", lang))
        live = [c for c in self._certificates(holder_id) if c["status"] != "revoked"]

        def button(c: dict[str, Any]) -> str:
            fields = {"csrf": csrf, "serial": c["serial_number"]}
            return _button_form("/iptal", _t("revoke", lang), fields=fields, css="danger")

        body = self._cert_table(request, live, button) if live else _t("no_certs", lang)
        return self.page(request, _t("iptal", lang), body)

    # -- PIN/PUK Bilgisi --

    async def pin_puk(self, request: Request) -> Response:
        holder_id, method, token = self.logged_in(request)
        lang = self.lang(request)
        csrf = self.csrf(token)
        shown: dict[str, str] = {}
        notice = None
        error = None
        if request.method == "POST":
            fields = await self.form(request, csrf=csrf)
            serial = fields.get("serial", "")[:64]
            try:
                if fields.get("action") == "delete":
                    self.portal.delete_initial_pin(holder_id, serial)
                    notice = _t("deleted", lang)
                else:
                    revealed = self.portal.view_initial_pin(holder_id, method, serial)
                    shown[serial] = str(revealed["initial_pin"])
            except ApiError as err:
                error = _error_text(err, lang)
        notes = "".join(f"<li>{_e(_t(f'pinpuk_note{i}', lang))}</li>" for i in range(1, 5))
        cards = sorted({c["card_serial"] for c in self._certificates(holder_id)})
        rows = ""
        for serial in cards:
            pin = shown.get(serial)
            show = _button_form(
                "/pin-puk", _t("show", lang), fields={"csrf": csrf, "serial": serial}
            )
            delete = _button_form(
                "/pin-puk",
                _t("delete", lang),
                fields={"csrf": csrf, "serial": serial, "action": "delete"},
                css="danger",
            )
            value = f'<span class="code" id="initial-pin">{_e(pin)}</span>' if pin else show
            rows += f"<tr><td>{_e(serial)}</td><td>{value}</td><td>{delete}</td></tr>"
        table = (
            f'<table><thead><tr><th scope="col">{_e(_t("card_serial", lang))}</th>'
            f'<th scope="col">{_e(_t("pin", lang))}</th><th></th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
            if cards
            else f"<p>{_e(_t('no_cards', lang))}</p>"
        )
        body = f'<ul class="notes">{notes}</ul>{table}'
        if method != "sifreli_giris":
            body = ""
            error = _ERRORS["forbidden"][lang]
        return self.page(request, _t("pinpuk_title", lang), body, notice=notice, error=error)

    # -- the training phone --

    async def phone(self, request: Request) -> Response:
        lang = self.lang(request)
        number = ""
        listing = ""
        if request.method == "POST":
            fields = await self.form(request)
            number = fields.get("phone", "").strip()[:32]
            messages = list(reversed(self.portal.outbox(phone=number))) if number else []
            items = "".join(
                f'<li class="sms"><p class="sms-at">'
                f"{_e(_t('sms_at', lang, at=m.sent_at.strftime('%d.%m.%Y %H:%M:%S')))}</p>"
                f'<p class="sms-text">{_e(m.text)}</p></li>'
                for m in messages
            )
            listing = (
                f'<ol class="messages" id="messages">{items}</ol>'
                if items
                else f'<p id="messages">{_e(_t("phone_none", lang))}</p>'
            )
        body = (
            f"<p>{_e(_t('phone_intro', lang))}</p>"
            f'<form method="post" action="{PREFIX}/telefon" class="panel" autocomplete="off">'
            f'<label for="phone">{_e(_t("phone_number", lang))}</label>'
            f'<input id="phone" name="phone" type="tel" maxlength="32" value="{_e(number)}" '
            'autocomplete="off" required autofocus>'
            f'<button type="submit" id="show-messages">'
            f"{_e(_t('phone_show' if not number else 'phone_refresh', lang))}</button></form>"
            f"{listing}"
        )
        return self.page(request, _t("phone_title", lang), body)


class _PageRefused(Exception):  # noqa: N818 (a control-flow signal inside this module)
    """A request from another origin, with a wrong CSRF token or a malformed body."""


class _LoginNeeded(Exception):  # noqa: N818 (a control-flow signal inside this module)
    """The page needs a portal session."""


_LOOPBACK_NAMES: Final = frozenset({"127.0.0.1", "localhost", "[::1]"})


def _loopback_host(host: str) -> bool:
    """Whether a ``Host`` header names this machine's loopback (with any port)."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower() in _LOOPBACK_NAMES


def _day(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%d.%m.%Y")


def _captcha_svg(text: str) -> bytes:
    """The captcha as a picture: its letters, each turned a little, over a few lines."""
    rng = secrets.SystemRandom()
    letters = "".join(
        f'<text x="{14 + i * 27}" y="{36 + rng.randint(-5, 5)}" '
        f'transform="rotate({rng.randint(-18, 18)} {22 + i * 27} 30)">{escape(ch)}</text>'
        for i, ch in enumerate(text)
    )
    lines = "".join(
        f'<line x1="{rng.randint(0, 60)}" y1="{rng.randint(0, 56)}" x2="{rng.randint(120, 180)}" '
        f'y2="{rng.randint(0, 56)}"/>'
        for _ in range(4)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="180" height="56" viewBox="0 0 180 56">'
        '<rect width="180" height="56" fill="#eef1f5"/>'
        f'<g stroke="#7a8799" stroke-width="1.5">{lines}</g>'
        '<g font-family="DejaVu Sans Mono, monospace" font-size="28" font-weight="bold" '
        f'fill="#1d2733" data-captcha="{escape(text)}">{letters}</g></svg>'
    ).encode()


def training_routes(portal: SandboxPortal) -> list[Route]:
    """The training pages' routes, to serve beside the API."""
    pages = _Pages(portal)
    get_post = ("GET", "POST")
    r = pages.route

    async def root(request: Request) -> Response:
        return pages.see("/")

    return [
        Route("/", root, methods=["GET"]),
        r("/", pages.landing),
        r("/dil", pages.switch_lang, ["POST"]),
        r("/static/{name}", pages.static),
        r("/cikis", pages.logout, ["POST"]),
        r("/edevlet", pages.edevlet, get_post),
        r("/sifreli-giris", pages.sifreli, get_post),
        r("/captcha/{captcha_id}.svg", pages.captcha_image),
        r("/sms-onay", pages.sms, get_post),
        r("/nes", pages.nes),
        r("/bireysel", pages.bireysel),
        r("/pin", pages.pin_choice),
        r("/pin", pages.pin_code, ["POST"]),
        r("/sertifikalar", pages.certificates),
        r("/sertifikalar/askiya-al", pages.suspend, ["POST"]),
        r("/askidan-indirme", pages.reactivate, get_post),
        r("/iptal", pages.revoke, get_post),
        r("/pin-puk", pages.pin_puk, get_post),
        r("/telefon", pages.phone, get_post),
    ]
