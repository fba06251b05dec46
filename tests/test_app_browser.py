"""``kamusm app`` and the sandbox's training pages in a real browser: Debian's headless
Chromium, driven by Selenium through chromium-driver, against both servers on 127.0.0.1, with
SoftHSM2 cards. Each screen is saved as a screenshot (see ``tests/app_parts.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from kamusm.app import AppConfig, AppServer
from kamusm.sandbox import SandboxSettings
from kamusm.testing.browser import chromium_available
from kamusm.testing.opencryptoki import OpencryptokiToken
from kamusm.values import Pin, Product
from tests.app_parts import Stage, digits_in, shot, stage, training_sandbox

pytestmark = pytest.mark.skipif(
    not chromium_available(), reason="needs Debian's chromium and chromium-driver"
)

from selenium.common.exceptions import WebDriverException  # noqa: E402 (after the skip mark)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

NEW_PIN = "246813"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    from kamusm.testing.browser import headless_chromium

    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def fresh(browser: WebDriver) -> Iterator[WebDriver]:
    """The module's browser with one tab and no cookies left from the last test."""
    yield browser
    handles = browser.window_handles
    for handle in handles[1:]:
        browser.switch_to.window(handle)
        browser.close()
    browser.switch_to.window(handles[0])
    browser.delete_all_cookies()


def by_id(browser: WebDriver, element_id: str) -> WebElement:
    found: WebElement = WebDriverWait(browser, 20).until(
        ec.presence_of_element_located((By.ID, element_id))
    )
    return found


def click(browser: WebDriver, element_id: str) -> None:
    """Click; for a link or a submit button, wait until the next page replaced this one."""
    press(browser, by_id(browser, element_id))


def press(browser: WebDriver, element: WebElement) -> None:
    leaves = element.tag_name == "a" or element.get_attribute("type") == "submit"
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    if leaves:
        WebDriverWait(browser, 20).until(lambda _: gone(page))


def gone(element: WebElement) -> bool:
    """Whether ``element`` left the page (Chromium says so in two ways while navigating)."""
    try:
        element.is_enabled()
    except WebDriverException:  # stale, or "does not belong to the document"
        return True
    return False


def type_into(browser: WebDriver, element_id: str, text: str) -> None:
    field = by_id(browser, element_id)
    field.clear()
    field.send_keys(text)


def text_of(browser: WebDriver, element_id: str) -> str:
    return str(by_id(browser, element_id).text)


def heading(browser: WebDriver) -> str:
    return str(browser.find_element(By.TAG_NAME, "h1").text)


class Tabs:
    """The portal page in one tab, the wizard in another, as a holder has them."""

    def __init__(self, browser: WebDriver, st: Stage) -> None:
        self.b = browser
        self.st = st
        self.portal = browser.current_window_handle
        browser.switch_to.new_window("tab")
        self.wizard = browser.current_window_handle
        browser.get(st.app.launch_url)
        browser.execute_cdp_cmd(
            "Browser.grantPermissions",
            {
                "origin": st.sandbox.url,
                "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
            },
        )

    def to_portal(self) -> None:
        self.b.switch_to.window(self.portal)

    def to_wizard(self) -> None:
        self.b.switch_to.window(self.wizard)

    # -- the portal side --

    def edevlet_login(self, *, screenshots: bool = False) -> None:
        self.to_portal()
        self.b.get(f"{self.st.sandbox.url}/portal/")
        assert heading(self.b) == "Online İşlemler"
        if screenshots:
            shot(self.b, "portal-01-online-islemler")
        click(self.b, "tile-edevlet")
        type_into(self.b, "tckn", self.st.holder.tckn.value)
        type_into(self.b, "password", self.st.holder.password)
        if screenshots:
            shot(self.b, "portal-02-edevlet")
        click(self.b, "login")
        assert heading(self.b) == "NES İşlemleri"
        if screenshots:
            shot(self.b, "portal-03-nes-islemleri")

    def get_code(self, product: Product, *, screenshots: bool = False) -> str:
        self.to_portal()
        self.b.get(f"{self.st.sandbox.url}/portal/bireysel")
        if screenshots:
            shot(self.b, "portal-04-bireysel-islemler")
        click(self.b, "tile-pin")
        if screenshots:
            shot(self.b, "portal-05-nes-mali-muhur")
        click(self.b, f"product-{product.value}")
        code = text_of(self.b, "verification-code")
        assert re.fullmatch(r"\d{15}", code)
        assert "Kalan süre: 300 saniye" in text_of(self.b, "countdown") or "Kalan süre" in (
            text_of(self.b, "countdown")
        )
        if screenshots:
            shot(self.b, "portal-06-dogrulama-kodu")
        return code

    def copy_code(self) -> None:
        self.to_portal()
        click(self.b, "copy")
        WebDriverWait(self.b, 10).until(lambda b: b.find_element(By.ID, "copied").text != "")

    def again(self) -> str:
        """ "Tekrar Kod Al": a new code on the same page."""
        self.to_portal()
        old = text_of(self.b, "verification-code")
        press(self.b, self.b.find_element(By.CSS_SELECTOR, "button.again"))
        new = text_of(self.b, "verification-code")
        assert new != old
        return new

    def sms_code(self, *, screenshot: str | None = None) -> str:
        self.to_portal()
        self.b.get(f"{self.st.sandbox.url}/portal/telefon")
        type_into(self.b, "phone", self.st.holder.phone)
        click(self.b, "show-messages")
        newest = self.b.find_elements(By.CSS_SELECTOR, "#messages .sms-text")[0].text
        if screenshot:
            shot(self.b, screenshot)
        return digits_in(newest, 6)

    # -- the wizard side --

    def start(self, product: Product, *, web_password: bool = False) -> None:
        self.to_wizard()
        self.b.get(self.st.app.url + "/")
        if web_password:
            click(self.b, "method-web")
        click(self.b, "start-nes" if product is Product.NES else "start-mali-muhur")
        assert heading(self.b).startswith("Doğrulama Kodu")

    def enter_code(self, code: str, *, paste: bool = False, shot_name: str = "") -> None:
        self.to_wizard()
        field = by_id(self.b, "code")
        field.clear()
        if paste:
            field.send_keys(Keys.CONTROL, "v")
            assert field.get_attribute("value") == code
        else:
            field.send_keys(code)
        if shot_name:
            shot(self.b, shot_name)
        click(self.b, "next")

    def choose_card(self, *, shot_name: str = "") -> str:
        self.to_wizard()
        assert heading(self.b).startswith("Kart Seçimi")
        select = Select(by_id(self.b, "serial"))
        select.select_by_value(self.st.card.serial)  # other tests' cards are listed too
        option = select.first_selected_option
        if shot_name:
            shot(self.b, shot_name)
        line = str(option.text)
        click(self.b, "next")
        return line

    def keypad_pin(self, pin: str, *, shot_name: str = "") -> None:
        self.to_wizard()
        assert heading(self.b).startswith("Yeni PIN Kodu")
        click(self.b, "new")
        for digit in pin + "9":
            click(self.b, f"key-{digit}")
        click(self.b, "key-back")  # ← takes the extra 9 back
        click(self.b, "again")
        for digit in "1111":
            click(self.b, f"key-{digit}")
        click(self.b, "key-clear")  # Temizle empties the field
        for digit in pin:
            click(self.b, f"key-{digit}")
        for field in ("new", "again"):
            value = by_id(self.b, field).get_attribute("value")
            assert value == pin
        if shot_name:
            shot(self.b, shot_name)
        click(self.b, "submit-pin")

    def confirm(self, answer: str, *, shot_name: str = "") -> None:
        self.to_wizard()
        type_into(self.b, "answer", answer)
        if shot_name:
            shot(self.b, shot_name)
        click(self.b, "confirm")


def test_a_whole_reset_through_both_pages_and_the_card_opens_with_the_new_pin(
    fresh: WebDriver,
) -> None:
    """Log in on the portal page, copy the code, paste it into the wizard, choose the card,
    type the PIN on the keypad, read the SMS on the telefon page, confirm: the SoftHSM2 card
    then opens with the new PIN."""
    with stage() as st:
        tabs = Tabs(fresh, st)
        shot(fresh, "app-01-home")
        tabs.edevlet_login(screenshots=True)
        code = tabs.get_code(Product.NES, screenshots=True)
        tabs.copy_code()
        tabs.start(Product.NES)
        tabs.enter_code(code, paste=True, shot_name="app-02-dogrulama-kodu")
        line = tabs.choose_card(shot_name="app-03-kart-secimi")
        assert st.holder.name in line and "NES" in line
        assert "Kilit Çözme Bilgilendirme" in fresh.page_source
        assert "Kalan Süre" in text_of(fresh, "countdown")
        tabs.keypad_pin(NEW_PIN, shot_name="app-04-yeni-pin")
        assert heading(fresh).startswith("SMS Onay")
        assert text_of(fresh, "attempts") == "Kalan deneme hakkı: 3"
        sms = tabs.sms_code(screenshot="portal-07-telefon")
        tabs.to_wizard()
        tabs.confirm(sms, shot_name="app-05-sms-onay")
        assert "PIN kodunuz başarılı bir şekilde değiştirilmiştir." in text_of(fresh, "success")
        assert "PUK" in text_of(fresh, "warnings")
        shot(fresh, "app-06-basarili")
        st.card.token().verify_pin(Pin(NEW_PIN))
        audit = [e["event"] for e in st.sandbox.portal.audit_log()]
        assert "operation.completed" in audit
        # The secrets never reached the browser's address bar or history.
        assert code not in fresh.current_url and NEW_PIN not in fresh.current_url
        # The cards page shows the card with its PIN state and its certificates.
        fresh.get(st.app.url + "/cards")
        section = text_of(fresh, f"card-{st.card.serial}")
        assert "Kullanılabilir" in section and st.holder.name in section
        assert "NES" in section
        shot(fresh, "app-07-kartlarim")


def test_a_wrong_sms_code_shows_the_attempts_left_and_the_right_one_still_works(
    fresh: WebDriver,
) -> None:
    with stage() as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        code = tabs.get_code(Product.NES)
        tabs.start(Product.NES)
        tabs.enter_code(code)
        tabs.choose_card()
        tabs.keypad_pin(NEW_PIN)
        right = tabs.sms_code()
        wrong = "000000" if right != "000000" else "111111"
        tabs.to_wizard()
        tabs.confirm(wrong)
        assert "SMS onay kodu hatalı" in text_of(fresh, "problems")
        assert text_of(fresh, "attempts") == "Kalan deneme hakkı: 2"
        shot(fresh, "app-08-hatali-sms")
        tabs.confirm(right)
        assert by_id(fresh, "success")
        st.card.token().verify_pin(Pin(NEW_PIN))


def test_an_expired_sms_code_offers_a_new_sms_with_a_button_and_the_reset_goes_on(
    fresh: WebDriver,
) -> None:
    """The SMS code runs out (the manual clock moves 181 s; the verification code's 300 s do
    not): the SMS screen says so, tells how many new SMS codes are left, and offers "Yeni SMS
    gönder"; the button sends a second SMS, whose code ends the reset with the new PIN."""
    with stage() as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        code = tabs.get_code(Product.NES)
        tabs.start(Product.NES)
        tabs.enter_code(code)
        tabs.choose_card()
        tabs.keypad_pin(NEW_PIN)
        first = tabs.sms_code()
        st.sandbox.advance(st.sandbox.portal.settings.sms_validity.total_seconds() + 1)
        tabs.confirm(first)
        assert "SMS onay kodunun süresi doldu" in text_of(fresh, "problems")
        assert heading(fresh).startswith("SMS Onay")
        assert "Yeni bir SMS onay kodu gönderilsin mi?" in text_of(fresh, "new-sms-text")
        assert text_of(fresh, "sms-left") == (
            "Bu işlemde, şimdi önerilen dahil, en çok 2 yeni SMS onay kodu istenebilir."
        )
        assert text_of(fresh, "new-sms") == "Yeni SMS gönder"
        assert "Kalan Süre" in text_of(fresh, "countdown")
        shot(fresh, "app-17-yeni-sms")
        click(fresh, "new-sms")
        assert heading(fresh).startswith("SMS Onay")
        assert by_id(fresh, "answer")  # the SMS question again, for the new code
        second = tabs.sms_code()
        tabs.to_wizard()
        tabs.confirm(second)
        assert by_id(fresh, "success")
        st.card.token().verify_pin(Pin(NEW_PIN))
        challenged = [
            e for e in st.sandbox.portal.audit_log() if e["event"] == "operation.challenged"
        ]
        assert len(challenged) == 2


def test_a_timed_out_web_password_is_told_as_a_web_password_not_an_sms(
    fresh: WebDriver,
) -> None:
    """The "WEB Parola" route: the portal's time for the web password runs out. The screen
    says the web password's time ran out, how many more times it can be asked for, offers to
    ask again; a no ends with the web password's own text. No word of an SMS."""
    with stage() as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        code = tabs.get_code(Product.NES)
        tabs.start(Product.NES, web_password=True)
        tabs.enter_code(code)
        tabs.choose_card()
        tabs.keypad_pin(NEW_PIN)
        assert heading(fresh) == "WEB Parola"
        st.sandbox.advance(st.sandbox.portal.settings.sms_validity.total_seconds() + 1)
        tabs.confirm(st.holder.password)
        told = text_of(fresh, "problems")
        assert "WEB Parola için verilen süre doldu" in told, told
        assert "WEB Parola yeniden sorulsun mu?" in text_of(fresh, "new-sms-text")
        left = text_of(fresh, "sms-left")
        assert left == "Bu işlemde WEB Parola, şimdi önerilen dahil, en çok 2 kez daha sorulabilir."
        assert "SMS" not in told + left + text_of(fresh, "new-sms")
        click(fresh, "no-new-sms")
        ended = text_of(fresh, "ended")
        assert "WEB Parola yeniden sorulmadı" in ended and "SMS" not in ended, ended
        st.card.token().verify_pin(st.card.pin)  # the old PIN still opens it
        assert st.sandbox.portal.outbox(phone=st.holder.phone) == []


def test_the_sms_limit_is_told_as_the_limit_on_the_code_screen(fresh: WebDriver) -> None:
    """The portal allows this operation one SMS code; it runs out: the code screen asks for
    a new verification code and says why (the SMS codes this operation allows are spent),
    not that the previous code has expired."""
    with stage(settings=SandboxSettings(max_challenges=1)) as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        code = tabs.get_code(Product.NES)
        tabs.start(Product.NES)
        tabs.enter_code(code)
        tabs.choose_card()
        tabs.keypad_pin(NEW_PIN)
        first = tabs.sms_code()
        tabs.to_wizard()
        st.sandbox.advance(st.sandbox.portal.settings.sms_validity.total_seconds() + 1)
        tabs.confirm(first)
        assert heading(fresh).startswith("Doğrulama Kodu")
        assert "izin verilen sayıda SMS onay kodu gönderildi" in text_of(fresh, "code-limit")
        assert not fresh.find_elements(By.ID, "code-expired")
        assert "Önceki kodun süresi doldu" not in fresh.page_source
        fresh.refresh()  # read again, the screen keeps its reason
        assert "izin verilen sayıda SMS onay kodu gönderildi" in text_of(fresh, "code-limit")
        st.card.token().verify_pin(st.card.pin)


def test_declining_the_new_sms_in_english_ends_with_the_card_unchanged(
    fresh: WebDriver,
) -> None:
    with stage() as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        code = tabs.get_code(Product.NES)
        tabs.start(Product.NES)
        tabs.enter_code(code)
        tabs.choose_card()
        tabs.keypad_pin(NEW_PIN)
        first = tabs.sms_code()
        st.sandbox.advance(st.sandbox.portal.settings.sms_validity.total_seconds() + 1)
        tabs.confirm(first)
        click(fresh, "lang-switch")
        assert "Send a new SMS confirmation code?" in text_of(fresh, "new-sms-text")
        assert text_of(fresh, "no-new-sms") == "No, end the operation"
        click(fresh, "no-new-sms")
        assert "No new SMS confirmation code was wanted" in text_of(fresh, "ended")
        st.card.token().verify_pin(st.card.pin)  # the old PIN still opens it
        events = [e["event"] for e in st.sandbox.portal.audit_log()]
        assert events.count("operation.challenged") == 1
        assert events[-1] == "operation.failed"


def test_an_expired_code_on_the_manual_clock_asks_for_a_new_one_from_tekrar_kod_al(
    fresh: WebDriver,
) -> None:
    """The code runs out (the sandbox's manual clock moves 301 s): the wizard shows the
    library's message and asks for a new code; "Tekrar Kod Al" gives one, and the reset ends
    with the new PIN."""
    with stage() as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        code = tabs.get_code(Product.NES)
        tabs.start(Product.NES)
        st.sandbox.advance(301)
        tabs.enter_code(code)
        tabs.choose_card()
        problems = text_of(fresh, "problems")
        assert problems  # the library's own message for the expiry
        assert by_id(fresh, "code-expired")
        assert heading(fresh).startswith("Doğrulama Kodu")
        shot(fresh, "app-09-suresi-dolan-kod")
        new = tabs.again()
        tabs.to_wizard()
        tabs.enter_code(new)
        tabs.choose_card()
        tabs.keypad_pin(NEW_PIN)
        tabs.confirm(tabs.sms_code())
        assert by_id(fresh, "success")
        st.card.token().verify_pin(Pin(NEW_PIN))


def test_tekrar_kod_al_makes_the_old_code_useless(fresh: WebDriver) -> None:
    with stage() as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        old = tabs.get_code(Product.NES)
        new = tabs.again()
        tabs.start(Product.NES)
        tabs.enter_code(old)
        tabs.choose_card()
        assert text_of(fresh, "problems")  # the portal refused the superseded code
        assert heading(fresh).startswith("Doğrulama Kodu")
        tabs.enter_code(new)
        tabs.choose_card()
        assert heading(fresh).startswith("Yeni PIN Kodu")


def test_the_web_parola_route_confirms_with_the_e_devlet_password(fresh: WebDriver) -> None:
    with stage() as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        code = tabs.get_code(Product.NES)
        tabs.start(Product.NES, web_password=True)
        tabs.enter_code(code)
        tabs.choose_card()
        tabs.keypad_pin(NEW_PIN)
        assert heading(fresh) == "WEB Parola"
        tabs.confirm(st.holder.password, shot_name="app-16-web-parola")
        assert by_id(fresh, "success")
        st.card.token().verify_pin(Pin(NEW_PIN))
        assert st.sandbox.portal.outbox(phone=st.holder.phone) == []  # no SMS was needed


def test_a_mali_muhur_card_is_reset_through_the_mali_muhur_route(fresh: WebDriver) -> None:
    with stage(product=Product.MALI_MUHUR) as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        code = tabs.get_code(Product.MALI_MUHUR)
        tabs.start(Product.MALI_MUHUR)
        assert "Mali Mühür" in fresh.page_source
        tabs.enter_code(code)
        line = tabs.choose_card(shot_name="app-10-mali-muhur-kart")
        assert "Mali Mühür" in line
        tabs.keypad_pin(NEW_PIN)
        tabs.confirm(tabs.sms_code())
        assert by_id(fresh, "success")
        st.card.token().verify_pin(Pin(NEW_PIN))


def test_a_nes_code_is_refused_on_the_mali_muhur_route_with_the_librarys_message(
    fresh: WebDriver,
) -> None:
    with stage() as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        code = tabs.get_code(Product.NES)
        tabs.start(Product.MALI_MUHUR)
        tabs.enter_code(code)
        tabs.choose_card()
        assert text_of(fresh, "ended")  # the library's text for the product mismatch
        shot(fresh, "app-11-yanlis-urun")
        st.card.token().verify_pin(st.card.pin)  # the card is unchanged


def test_a_pin_the_policy_refuses_is_asked_again_with_the_librarys_reasons(
    fresh: WebDriver,
) -> None:
    with stage() as st:
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        code = tabs.get_code(Product.NES)
        tabs.start(Product.NES)
        tabs.enter_code(code)
        tabs.choose_card()
        tabs.keypad_pin("123456")  # an ascending run
        assert "Yeni PIN kabul edilmedi" in text_of(fresh, "problems")
        assert heading(fresh).startswith("Yeni PIN Kodu")
        shot(fresh, "app-12-pin-kurali")


def test_the_wizard_in_english_and_its_pin_change_on_the_cards_page(fresh: WebDriver) -> None:
    with stage() as st:
        fresh.get(st.app.launch_url)
        click(fresh, "lang-switch")
        assert heading(fresh) == "Choose an operation"
        click(fresh, "cards-link")
        section = text_of(fresh, f"card-{st.card.serial}")
        assert "Usable" in section
        shot(fresh, "app-13-cards-english")
        press(fresh, fresh.find_element(By.CSS_SELECTOR, f"#card-{st.card.serial} button.change"))
        type_into(fresh, "old", st.card.pin.reveal())
        type_into(fresh, "new", NEW_PIN)
        type_into(fresh, "again", NEW_PIN)
        shot(fresh, "app-14-pin-change")
        click(fresh, "submit-pin")
        assert "Your PIN was changed" in text_of(fresh, "success")
        st.card.token().verify_pin(Pin(NEW_PIN))
        click(fresh, "lang-switch")
        assert heading(fresh) == "İşlem Başarılı"


def test_a_wrong_old_pin_in_the_change_is_refused_with_the_tokens_message(
    fresh: WebDriver,
) -> None:
    with stage() as st:
        fresh.get(st.app.launch_url)
        click(fresh, "cards-link")
        press(fresh, fresh.find_element(By.CSS_SELECTOR, f"#card-{st.card.serial} button.change"))
        wrong = "975310" if st.card.pin.reveal() != "975310" else "975311"
        type_into(fresh, "old", wrong)
        type_into(fresh, "new", NEW_PIN)
        type_into(fresh, "again", NEW_PIN)
        click(fresh, "submit-pin")
        assert "Hatalı PIN" in text_of(fresh, "problems")
        st.card.token().verify_pin(st.card.pin)


def test_sifreli_giris_with_the_captcha_image_and_pin_puk_bilgisi_with_sil(
    fresh: WebDriver,
) -> None:
    """The older route of seed 004: Şifreli Giriş (captcha picture, security word, SMS
    Onay), then PIN/PUK Bilgisi shows the card's first PIN once, and Sil deletes it."""
    with stage(initial_pin="482915") as st:
        url = st.sandbox.url
        fresh.get(f"{url}/portal/")
        click(fresh, "tile-sifreli-giris")
        image = by_id(fresh, "captcha").get_attribute("src")
        assert image is not None
        svg = httpx.get(image).text
        captcha = re.search(r'data-captcha="([A-Z0-9]+)"', svg)
        assert captcha is not None
        type_into(fresh, "id_number", st.holder.tckn.value)
        type_into(fresh, "captcha_answer", captcha.group(1))
        type_into(fresh, "security_word", st.holder.security_word)
        shot(fresh, "portal-08-sifreli-giris")
        click(fresh, "login")
        assert heading(fresh) == "SMS Onay Ekranı"
        masked = text_of(fresh, "masked-phone")
        assert st.holder.phone not in masked and st.holder.phone[-2:] in masked
        shot(fresh, "portal-09-sms-onay")
        handle = fresh.current_window_handle
        fresh.switch_to.new_window("tab")
        fresh.get(f"{url}/portal/telefon")
        type_into(fresh, "phone", st.holder.phone)
        click(fresh, "show-messages")
        sms = digits_in(fresh.find_elements(By.CSS_SELECTOR, "#messages .sms-text")[0].text, 6)
        fresh.switch_to.window(handle)
        type_into(fresh, "sms_code", sms)
        click(fresh, "onay")
        fresh.get(f"{url}/portal/bireysel")
        click(fresh, "tile-pin-puk")
        press(fresh, fresh.find_element(By.XPATH, "//button[text()='Göster']"))
        assert text_of(fresh, "initial-pin") == "482915"
        shot(fresh, "portal-10-pin-puk-bilgisi")
        press(fresh, fresh.find_element(By.XPATH, "//button[text()='Sil']"))
        assert text_of(fresh, "notice") == "PIN bilgisi silindi."
        press(fresh, fresh.find_element(By.XPATH, "//button[text()='Göster']"))
        assert text_of(fresh, "error")  # nothing left to show


def test_certificates_listed_suspended_reactivated_and_revoked_after_confirmation(
    fresh: WebDriver,
) -> None:
    with stage() as st:
        url = st.sandbox.url
        tabs = Tabs(fresh, st)
        tabs.edevlet_login()
        fresh.get(f"{url}/portal/sertifikalar")
        serial = st.sandbox.portal.list_certificates(st.sandbox.portal.holder_id(st.holder.tckn))[
            0
        ]["serial_number"]
        row = text_of(fresh, f"cert-{serial}")
        assert "Geçerli" in row
        shot(fresh, "portal-11-sertifika-listeleme")
        press(fresh, fresh.find_element(By.CSS_SELECTOR, f"#cert-{serial} button"))
        assert text_of(fresh, "notice") == "Sertifika askıya alındı."
        fresh.get(f"{url}/portal/askidan-indirme")
        shot(fresh, "portal-12-askidan-indirme")
        press(fresh, fresh.find_element(By.CSS_SELECTOR, f"#cert-{serial} button"))
        assert text_of(fresh, "notice") == "Sertifika tekrar kullanıma açıldı."
        fresh.get(f"{url}/portal/iptal")
        press(fresh, fresh.find_element(By.CSS_SELECTOR, f"#cert-{serial} button"))
        assert heading(fresh) == "Sertifika İptal Onayı"
        shot(fresh, "portal-13-iptal-onayi")
        click(fresh, "confirm")
        click(fresh, "revoke-confirm")
        assert text_of(fresh, "notice") == "Sertifika iptal edildi."
        fresh.get(f"{url}/portal/sertifikalar")
        assert "İptal edildi" in text_of(fresh, f"cert-{serial}")


@pytest.mark.opencryptoki
def test_a_change_on_the_final_try_needs_the_holders_acknowledgement(
    fresh: WebDriver, opencryptoki_token: OpencryptokiToken
) -> None:
    """On opencryptoki, which really counts: after two wrong PINs the cards page shows the
    final try, and the change asks for an explicit acknowledgement before it spends it."""
    from kamusm.errors import PinIncorrectError

    card = opencryptoki_token.token()
    for _ in range(2):
        with pytest.raises(PinIncorrectError):
            card.verify_pin(Pin("000000"), acknowledge_final_try=True)
    assert card.read_info().pin_status.final_try
    with training_sandbox() as sb:
        config = AppConfig(portal_url=sb.url, module_path=opencryptoki_token.module_path)
        with AppServer(config) as app:
            fresh.get(app.launch_url)
            click(fresh, "cards-link")
            section = f"card-{opencryptoki_token.serial}"
            assert "Son deneme" in text_of(fresh, section)
            press(fresh, fresh.find_element(By.CSS_SELECTOR, f"#{section} button.change"))
            assert heading(fresh) == "Son deneme hakkı"
            shot(fresh, "app-15-son-deneme")
            fresh.find_element(By.ID, "final-go").click()  # unticked: the form is not sent
            assert heading(fresh) == "Son deneme hakkı"
            click(fresh, "ack")
            click(fresh, "final-go")
            type_into(fresh, "old", opencryptoki_token.pin.reveal())
            type_into(fresh, "new", "24681357")
            type_into(fresh, "again", "24681357")
            click(fresh, "submit-pin")
            assert "PIN kodunuz değiştirildi" in text_of(fresh, "success")
    card.verify_pin(Pin("24681357"))
    assert not card.read_info().pin_status.final_try
