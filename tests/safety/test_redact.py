"""Redactor: environment/.env values by name, token shapes, nested objects, speed; the one
notion of a secret variable name."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from sre_agent.safety import Redactor, is_secret_name

KEY = "sk-test-0123456789abcdefghij"


def test_environment_values_by_name() -> None:
    env = {"OPENAI_API_KEY": KEY, "DB_PASSWORD": "correct-horse", "HOME": "/home/someone",
           "SHORT_TOKEN": "abc", "LMNR_PROJECT_API_KEY": "lmnr-value-123456"}
    r = Redactor.from_environment(env)
    out = r.redact(f"key={KEY} pw=correct-horse home=/home/someone t=abc l=lmnr-value-123456")
    assert "[REDACTED:OPENAI_API_KEY]" in out and KEY not in out
    assert "[REDACTED:DB_PASSWORD]" in out and "[REDACTED:LMNR_PROJECT_API_KEY]" in out
    assert "/home/someone" in out and "t=abc" in out  # not secret / too short
    assert r.names == ["DB_PASSWORD", "LMNR_PROJECT_API_KEY", "OPENAI_API_KEY"]


def test_dotenv_file(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("ANTHROPIC_API_KEY=from-dotenv-value-1\nMODEL=gpt-x\n", encoding="utf-8")
    r = Redactor.from_environment({}, dotenv_path=dotenv)
    assert r.redact("a from-dotenv-value-1 b gpt-x") == "a [REDACTED:ANTHROPIC_API_KEY] b gpt-x"
    assert Redactor.from_environment({}, dotenv_path=tmp_path / "missing").names == []


def test_token_shapes_without_known_values() -> None:
    r = Redactor()
    text = ("openai sk-proj-ABCDEFGHIJKLMNOPQRST gh ghp_ABCDEFGHIJKLMNOPQRSTUVWX12 "
            "aws AKIAIOSFODNN7EXAMPLE hdr Authorization: Bearer eyJhbGciOi.payload.sig "
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----")
    out = r.redact(text)
    for kind in ("OPENAI_KEY", "GITHUB_TOKEN", "AWS_ACCESS_KEY", "BEARER_TOKEN", "PRIVATE_KEY"):
        assert f"[REDACTED:{kind}]" in out, out
    assert "Bearer [REDACTED:BEARER_TOKEN]" in out and "MIIE" not in out
    assert r.redact("nothing to see: port 8080, sk-short") == "nothing to see: port 8080, sk-short"


def test_longest_value_wins_when_values_overlap() -> None:
    r = Redactor({"A_TOKEN": "abcdefgh", "B_TOKEN": "abcdefgh-extended"})
    assert r.redact("abcdefgh-extended abcdefgh") == "[REDACTED:B_TOKEN] [REDACTED:A_TOKEN]"


class _Row(BaseModel):
    prompt: str
    tokens: int


def test_redact_obj_walks_structures() -> None:
    r = Redactor({"OPENAI_API_KEY": KEY})
    obj = {"steps": [{"cmd": f"curl -H 'x: {KEY}'"}, ("t", KEY)], "n": 3, "ok": True,
           "api_key": "not-in-env-but-secret-key", "row": _Row(prompt=KEY, tokens=5)}
    out = r.redact_obj(obj)
    assert out["steps"][0]["cmd"] == "curl -H 'x: [REDACTED:OPENAI_API_KEY]'"
    assert out["steps"][1] == ("t", "[REDACTED:OPENAI_API_KEY]")
    assert out["n"] == 3 and out["ok"] is True
    assert out["api_key"] == "[REDACTED:API_KEY]"
    assert out["row"] == {"prompt": "[REDACTED:OPENAI_API_KEY]", "tokens": 5}
    assert obj["steps"][0]["cmd"].endswith(f"{KEY}'")  # the input is not modified


def test_big_strings_stay_intact_around_secrets() -> None:
    r = Redactor({"OPENAI_API_KEY": KEY})
    chunk = "log line without secrets " * 40
    text = (chunk + KEY + "\n") * 2000  # ~2 MB
    out = r.redact(text)
    assert out.count("[REDACTED:OPENAI_API_KEY]") == 2000 and KEY not in out
    assert out.startswith(chunk)


def test_secret_names() -> None:
    assert all(is_secret_name(n) for n in ("OPENAI_API_KEY", "gh_token", "DB_PASSWORD",
                                           "AWS_SECRET_ACCESS_KEY", "MY_CREDENTIALS"))
    assert not any(is_secret_name(n) for n in ("HOME", "PATH", "PORT", "MODEL"))
    # the one home: the risk rules ask it too (AUTH and PASSW were theirs, DATABASE_URL ours)
    assert all(is_secret_name(n) for n in ("HTTP_AUTHORIZATION", "OAUTH_CLIENT", "BASIC_AUTH",
                                           "SMTP_PASSWD", "DATABASE_URL", "api_key"))
    assert not any(is_secret_name(n) for n in ("GIT_AUTHOR_NAME", "AUTHORS", "KUBE_NAMESPACE"))


def test_secret_name_has_one_home() -> None:
    src = Path(__file__).resolve().parents[2] / "src" / "sre_agent" / "safety"
    spelled = [p for p in src.rglob("*.py") if "CREDENTIAL|" in p.read_text(encoding="utf-8")]
    assert [p.name for p in spelled] == ["redact.py"]


def test_logging_filter_redacts_messages_and_tracebacks() -> None:
    import logging

    from sre_agent.safety import RedactingFilter, Redactor

    secret = "sk-filter-0123456789abcdefgh"
    filt = RedactingFilter(Redactor({"OPENAI_API_KEY": secret}))
    try:
        raise RuntimeError(f"boom {secret}")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key %s", (secret,),
                                   sys.exc_info())
    assert filt.filter(record)
    assert secret not in record.getMessage() and "REDACTED" in record.getMessage()
    assert record.exc_text and secret not in record.exc_text
