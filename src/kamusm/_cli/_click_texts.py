"""Click's own texts in Turkish: the words of its help layout ("Usage:", "Options"), its usage
errors ("No such option", "Missing option") and its metavars ("TEXT", "[OPTIONS]").

Click asks :func:`gettext.gettext` for each of these by its English text; :mod:`kamusm._cli._app`
answers from these tables while a ``kamusm`` command reads its line in Turkish. English mode
keeps click's own words. A test reads every text click's modules ask for and fails on one
missing here, so a click upgrade that adds a message is caught.

Where click fills in an English word of its own (``{number_type}`` is "integer", ``{name}``
"File"), the Turkish text leaves that field out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["CLICK_MODULES", "METAVARS_TR", "PLURALS_TR", "TEXTS_TR"]

#: The click modules whose texts the command can show (prompts, pagers, shell completion and
#: the test runner are not used by ``kamusm``).
CLICK_MODULES: Final[tuple[str, ...]] = (
    "core",
    "decorators",
    "exceptions",
    "formatting",
    "parser",
    "types",
    "utils",
)

#: English text click asks for -> Turkish.
TEXTS_TR: Final[Mapping[str, str]] = {
    # help layout
    "Usage:": "Kullanım:",
    "Options": "Seçenekler",
    "Commands": "Komutlar",
    "Positional arguments": "Konumsal değerler",
    "Show this message and exit.": "Bu yardımı gösterir.",
    "Show the version and exit.": "Sürümü gösterir.",
    "%(prog)s, version %(version)s": "%(prog)s, sürüm %(version)s",
    "required": "zorunlu",
    "default: {default}": "varsayılan: {default}",
    "env var: {var}": "ortam değişkeni: {var}",
    "(dynamic)": "(duruma göre)",
    "deprecated": "artık kullanılmıyor",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}": (
        "Uyarı: {name!r} komutu artık kullanılmıyor.{extra_message}"
    ),
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}": (
        "Uyarı: {name!r} artık kullanılmıyor.{extra_message}"
    ),
    "Do you want to continue?": "Devam etmek istiyor musunuz?",
    "Confirm the action without prompting.": "İşlemi sormadan onaylar.",
    # usage errors
    "Aborted!": "Kesildi!",
    "Error: {message}": "Hata: {message}",
    "Try '{command} {option}' for help.": "Yardım için: '{command} {option}'",
    "Missing command.": "Komut eksik.",
    "No such option {name!r}.": "Böyle bir seçenek yok: {name!r}.",
    "No such command {name!r}.": "Böyle bir komut yok: {name!r}.",
    "Invalid value: {message}": "Geçersiz değer: {message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} için geçersiz değer: {message}",
    "Missing argument": "Eksik değer",
    "Missing option": "Eksik seçenek",
    "Missing parameter": "Eksik değer",
    "Missing {param_type}": "Eksik değer",
    "Missing parameter: {param_name}": "Eksik değer: {param_name}",
    "Value must be an iterable.": "Değer bir liste olmalıdır.",
    "unknown error": "bilinmeyen hata",
    "Could not open file {filename!r}: {message}": "{filename!r} dosyası açılamadı: {message}",
    "Invalid start character for option ({option})": (
        "Seçenek geçersiz bir karakterle başlıyor ({option})"
    ),
    "Option {name!r} does not take a value.": "{name!r} seçeneği değer almaz.",
    "Argument {name!r} takes {nargs} values.": "{name!r} {nargs} değer alır.",
    "Choose from:\n\t{choices}": "Şunlardan birini seçin:\n\t{choices}",
    "Choice({choices})": "Seçim({choices})",
    "{value} is not in the range {range}.": "{value}, {range} aralığında değil.",
    "{value!r} is not a valid {number_type}.": "{value!r} geçerli bir sayı değil.",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "{value!r} geçerli bir evet/hayır değeri değil. Geçerli değerler: {states}"
    ),
    "{value!r} is not a valid UUID.": "{value!r} geçerli bir UUID değil.",
    "file": "dosya",
    "directory": "dizin",
    "path": "yol",
    "{name} {filename!r} does not exist.": "{filename!r} bulunamadı.",
    "{name} {filename!r} is a file.": "{filename!r} bir dosya.",
    "{name} {filename!r} is a directory.": "{filename!r} bir dizin.",
    "{name} {filename!r} is not readable.": "{filename!r} okunamıyor.",
    "{name} {filename!r} is not writable.": "{filename!r} yazılamıyor.",
    "{name} {filename!r} is not executable.": "{filename!r} çalıştırılamıyor.",
    "Unknown standard stream '{name}'": "Bilinmeyen standart akış: '{name}'",
    # mistakes in the command's own definition (never a user's)
    "Name '{name}' defined twice": "'{name}' adı iki kez tanımlanmış",
    "Could not determine name for option with declarations {decls!r}": (
        "{decls!r} tanımlı seçeneğin adı belirlenemedi"
    ),
    "No options defined but a name was passed ({name}). Did you mean to declare an argument "
    "instead? Did you mean to pass '--{name}'?": (
        "Seçenek tanımlanmadan bir ad verildi ({name}): konumsal bir değer mi, yoksa "
        "'--{name}' mi kastedildi?"
    ),
    "Arguments take exactly one parameter declaration, got {length}: {decls}.": (
        "Konumsal değerin tek bir tanımı olur; {length} tane verildi: {decls}."
    ),
    "Boolean option {decl!r} cannot use the same flag for true/false.": (
        "Evet/hayır seçeneği {decl!r} iki durum için aynı adı kullanamaz."
    ),
}

#: (singular, plural) click asks for -> (Turkish for one, Turkish for several).
PLURALS_TR: Final[Mapping[tuple[str, str], tuple[str, str]]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): (
        "Beklenmeyen fazladan değer ({args})",
        "Beklenmeyen fazladan değerler ({args})",
    ),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."): (
        "{nargs} değer alır, 1 değer verildi.",
        "{nargs} değer alır, {len} değer verildi.",
    ),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"): (
        "Bunu mu demek istediniz: {possibility}?",
        "(Bunlardan biri mi: {possibilities}?)",
    ),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."): (
        "{name!r} seçeneği bir değer ister.",
        "{name!r} seçeneği {nargs} değer ister.",
    ),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): (
        "{value!r} geçerli değil; yalnızca {choice} olabilir.",
        "{value!r} geçerli değil; şunlardan biri olmalıdır: {choices}.",
    ),
    (
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
    ): (
        "{value!r}, {format} biçimine uymuyor.",
        "{value!r} şu biçimlerin hiçbirine uymuyor: {formats}.",
    ),
    (
        "{len_type} values are required, but {len_value} was given.",
        "{len_type} values are required, but {len_value} were given.",
    ): (
        "{len_type} değer gerekli, {len_value} değer verildi.",
        "{len_type} değer gerekli, {len_value} değer verildi.",
    ),
}

#: The placeholders of the usage line and the option list: click's own ("TEXT", "[OPTIONS]")
#: and the ones the commands name.
METAVARS_TR: Final[Mapping[str, str]] = {
    "[OPTIONS]": "[SEÇENEKLER]",
    "COMMAND [ARGS]...": "KOMUT [DEĞERLER]...",
    "TEXT": "METİN",
    "INTEGER": "SAYI",
    "PATH": "YOL",
    "FILE": "DOSYA",
    "DIRECTORY": "DİZİN",
    "URL": "ADRES",
    "TOKEN": "ANAHTAR",
    "NAME": "AD",
    "YYYY-MM-DD": "YYYY-AA-GG",
    "IN": "GİRDİ",
    "OUT": "ÇIKTI",
}
