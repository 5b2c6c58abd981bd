from __future__ import annotations

import pytest

from sirena import messages, settings
from sirena.errors import ConfigurationError
from sirena.settings import Settings


def test_environment_is_parsed_by_type_and_overrides_win() -> None:
    env = {"SIRENA_PORT": "9000", "SIRENA_DEMO": "yes", "SIRENA_DEMO_SPEED": "12.5", "SIRENA_BUS_URL": "memory://"}
    s = Settings.from_env(env, database_url="sqlite:///x.db")
    assert (s.port, s.demo, s.demo_speed, s.database_url) == (9000, True, 12.5, "sqlite:///x.db")
    assert Settings.from_env({}).database_url == "sqlite:///var/sirena.db"


@pytest.mark.parametrize(
    ("name", "value"), [("SIRENA_PORT", "eighty"), ("SIRENA_DEMO", "perhaps"), ("SIRENA_LOG_LEVEL", "loud")]
)
def test_bad_values_fail_fast_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({name: value})
    assert name in info.value.detail()
    assert value in info.value.detail()


def test_a_setting_with_choices_takes_them_in_any_case() -> None:
    assert Settings.from_env({"SIRENA_LOG_LEVEL": " Debug "}).log_level == "debug"
    assert Settings.from_env({}, log_level="WARNING").log_level == "warning"
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({}, log_level="verbose")
    assert (
        info.value.detail() == "SIRENA_LOG_LEVEL: verbose is not one of trace, debug, info, warning, error, critical."
    )


def test_secrets_are_masked() -> None:
    secret = settings.Secret("hunter2")
    assert "hunter2" not in repr(secret)


def test_settings_docs_list_every_setting() -> None:
    page = settings.markdown()
    for info in settings.table():
        assert f"`{info.env}`" in page
        assert info.help


def test_every_message_has_ukrainian_and_english() -> None:
    catalogue = messages.catalogue()
    assert len(catalogue) > 50
    missing = [key for key, texts in catalogue.items() if not texts.get("uk") or not texts.get("en")]
    assert missing == []


def test_every_error_class_has_a_title_in_the_catalogue() -> None:
    from sirena import errors

    def walk(cls: type[errors.SirenaError]) -> list[type[errors.SirenaError]]:
        return [cls, *(c for sub in cls.__subclasses__() for c in walk(sub))]

    catalogue = messages.catalogue()
    for cls in walk(errors.SirenaError):
        assert cls.key + ".title" in catalogue or cls.key in catalogue, cls


def test_formatting_never_raises_on_missing_values() -> None:
    assert messages.t("error.alert_not_found", "en") == "There is no alert with id {alert_id}."
    assert messages.t("error.alert_not_found", "uk", alert_id="X") == "Тривоги з ідентифікатором X немає."
    assert messages.t("no.such.key") == "no.such.key"
    choices = ["actual", "exercise", "test"]
    detail = messages.t("error.bad_choice", "en", field="statuses", value="foo", choices=choices)
    assert detail == "statuses: foo is not one of actual, exercise, test."
    assert messages.pick_language("uk-UA,uk;q=0.9,en;q=0.8") == "uk"
    assert messages.pick_language("de-DE,en;q=0.5") == "en"
    assert messages.pick_language(None) == "en"
