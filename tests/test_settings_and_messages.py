from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sirena
from sirena import messages, settings
from sirena.errors import ConfigurationError, ValidationFailed
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


def _validation_reasons() -> list[tuple[str, int, ast.expr]]:
    """Every reason src/sirena gives a validation error: ``reason=`` of a ``ValidationFailed`` (or a subclass named
    ``...Failed``) and the ``"reason"`` of a field listed in ``errors``."""
    found = []
    for path in sorted(Path(sirena.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = (str(path.relative_to(Path(sirena.__file__).parent)), getattr(node, "lineno", 0))
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("ValidationFailed"):
                found += [(*where, k.value) for k in node.keywords if k.arg == "reason"]
            elif isinstance(node, ast.Dict):
                keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
                if "reason" in keys and "field" in keys:
                    found.append((*where, node.values[keys.index("reason")]))
    return found


def test_every_validation_reason_is_a_catalogue_phrase() -> None:
    """No reason is English written into the code (it could not be said in the client's language): each is a
    ``Phrase`` of a catalogued key, or a value passed on (a rendered pydantic reason, a variable)."""
    reasons = _validation_reasons()
    assert len(reasons) > 20
    written = [
        (file, line)
        for file, line, value in reasons
        if isinstance(value, ast.JoinedStr) or (isinstance(value, ast.Constant) and value.value)
    ]
    assert written == []
    for file, line, value in reasons:
        if isinstance(value, ast.Call) and ast.unparse(value.func).endswith("Phrase"):
            key = value.args[0]
            assert isinstance(key, ast.Constant | ast.JoinedStr), (file, line)
            if isinstance(key, ast.Constant):
                assert key.value in messages.catalogue(), (file, line, key.value)
        else:
            assert not (isinstance(value, ast.Call) and ast.unparse(value.func).endswith(".t")), (file, line)


def test_a_phrase_is_said_in_each_language_when_shown() -> None:
    error = ValidationFailed(
        "error.validation_field", field="to", reason=messages.Phrase("validation.reason.to_yourself")
    )
    assert (error.detail("uk"), error.detail()) == ("to: Не можна надсилати повідомлення самому собі.", "to: yourself")
    assert error.extensions("uk")["reason"] == "Не можна надсилати повідомлення самому собі."
    assert error.extensions() == {"field": "to", "reason": "yourself"}
    assert str(error) == "to: yourself"
    listed = ValidationFailed(
        errors=[{"field": "count", "reason": messages.Phrase("validation.reason.between", low=1, high=9)}]
    )
    assert listed.extensions("uk")["errors"] == [{"field": "count", "reason": "Значення має бути від 1 до 9."}]
