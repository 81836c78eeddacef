"""Guardrails: blank input, and a corpus of PII that must be redacted and look-alikes that must not."""

from __future__ import annotations

import pytest

from folionaut.chat.guardrails import (
    CLARIFICATION_ANSWER,
    EMAIL_MARK,
    PHONE_MARK,
    SSN_MARK,
    Guardrails,
    check_input,
    is_blank,
    redact,
    redact_pii,
)

PUBLIC_EMAIL = "hello@janedoe.dev"

# (text, the PII inside it, the mark it must become)
TRUE_POSITIVES: list[tuple[str, str, str]] = [
    # e-mails
    ("Reach me at jane.doe@example.com any time.", "jane.doe@example.com", EMAIL_MARK),
    ("Her work address is JOHN_SMITH+work@Mail.Example.co.uk.", "JOHN_SMITH+work@Mail.Example.co.uk", EMAIL_MARK),
    ("Link: mailto:someone@sub.domain.io", "someone@sub.domain.io", EMAIL_MARK),
    ("<a href='mailto:x.y@z.dev'>write</a>", "x.y@z.dev", EMAIL_MARK),
    ("Send it to first-last@my-company.org.", "first-last@my-company.org", EMAIL_MARK),
    ("Try user123@gmail.com", "user123@gmail.com", EMAIL_MARK),
    ("Write to john [at] example [dot] com", "john [at] example [dot] com", EMAIL_MARK),
    ("Contact jane(at)corp(dot)io", "jane(at)corp(dot)io", EMAIL_MARK),
    # phones
    ("Call +1 (555) 123-4567 today", "+1 (555) 123-4567", PHONE_MARK),
    ("Her number is 555-123-4567.", "555-123-4567", PHONE_MARK),
    ("Dial 555.123.4567 after 5pm", "555.123.4567", PHONE_MARK),
    ("London office: +44 20 7946 0958", "+44 20 7946 0958", PHONE_MARK),
    ("Office (555) 123 4567, ask for Jane", "(555) 123 4567", PHONE_MARK),
    ("Office (555)123-4567", "(555)123-4567", PHONE_MARK),
    ("Toll free 1-800-555-0199", "1-800-555-0199", PHONE_MARK),
    ("US: +1-555-123-4567", "+1-555-123-4567", PHONE_MARK),
    ("US: +1 555 123 4567", "+1 555 123 4567", PHONE_MARK),
    ("Reach her on 555 123 4567 please", "555 123 4567", PHONE_MARK),
    ("Paris: +33 1 23 45 67 89", "+33 1 23 45 67 89", PHONE_MARK),
    ("Berlin: +49 30 12345678", "+49 30 12345678", PHONE_MARK),
    ("E.164: +14155552671", "+14155552671", PHONE_MARK),
    ("UK landline 020 7946 0958", "020 7946 0958", PHONE_MARK),
    ("UK mobile 07700 900123", "07700 900123", PHONE_MARK),
    ("Call me at 555-1234 tonight", "555-1234", PHONE_MARK),
    ("phone: 5551234567", "5551234567", PHONE_MARK),
    ("Tel. 555 1234", "555 1234", PHONE_MARK),
    ("UK: (+44) 20 7946 0958", "(+44) 20 7946 0958", PHONE_MARK),
    ("Switchboard +44 (0)20 7946 0958", "+44 (0)20 7946 0958", PHONE_MARK),
    ("WhatsApp +91 98765 43210", "+91 98765 43210", PHONE_MARK),
    ("Mobile:555-123-4567", "555-123-4567", PHONE_MARK),
    # SSNs
    ("My SSN is 123-45-6789.", "123-45-6789", SSN_MARK),
    ("SSN: 123456789", "123456789", SSN_MARK),
    ("social security number 123 45 6789", "123 45 6789", SSN_MARK),
    ("Sample 987-65-4321 here", "987-65-4321", SSN_MARK),
    ("(123-45-6789)", "123-45-6789", SSN_MARK),
]

FALSE_POSITIVES: list[str] = [
    "In 2019 I joined Acme.",
    "Worked there 2019-2023.",
    "From 2019 \u2013 2023 she led the team.",
    "Released on 2023-01-15.",
    "Deployed at 2023-01-15T10:00:00Z.",
    "Timestamp 2023-01-15T10:00:00.000+02:00",
    "Uses Python 3.11.7 everywhere.",
    "Version v1.2.3 shipped.",
    "Upgraded to macOS 10.15.7",
    "node 18.17.1 and npm 9.6.7",
    "Semver 2.0.0-beta.1 is out.",
    "version 1.2.3.4 of the firmware",
    "It costs $1,299.00.",
    "Priced at \u20ac2,499.99 or $15.50",
    "Improved latency by 37.5%.",
    "Revenue went up +12.5% this year",
    "Reduced costs by 30-40%.",
    "Served from 192.168.1.100",
    "Listening on 127.0.0.1:8080",
    "ZIP 94105",
    "ZIP+4 94105-1234",
    "See issue #12345.",
    "Order #5551234 has shipped.",
    "Fixed bugs 10-20 in the tracker.",
    "Read pages 100-200.",
    "A team of 5-10 engineers.",
    "Over 1,000,000 users.",
    "Handled 12345678 requests per day.",
    "Resolution 1920x1080",
    "Meeting at 10:30-11:45",
    "Dated 01/15/2023.",
    "Dated 15.01.2023.",
    "Q3 2023 results",
    "UUID 123e4567-e89b-12d3-a456-426614174000",
    "Commit a1b2c3d4 fixed it.",
    "ISBN 978-3-16-148410-0",
    "Coordinates 37.7749, -122.4194",
    "Coordinates +37.774912, -122.419415",
    "Scored 98.6 out of 100.",
    "npm install react@18.2.0",
    "Follow @johndoe on GitHub.",
    "Temperature from -40 to 40.",
    "Built 3 apps in 2 years with 99.99% uptime.",
    "Between 2010 and 2015, and 2016-2018.",
    "Ports 5432 and 6379.",
    "PR #4567 merged on 2024-03-01.",
    "Visit https://example.com/posts/2023/01/15/hello",
    "Benchmarks: 1234.5678 ops/s",
    "I'll call you about the 2024-2025 roadmap.",
    "Text me about the 2019-2023 project.",
    "Call volume grew to 1,234,567 per month.",
    "The mobile app v2.3.4 hit 5000000 installs.",
    "Phone-free weekends since 2019-2023.",
    "Contact me at hello@janedoe.dev.",
    "Contact me at Hello@JaneDoe.DEV for work.",
    "Call it version 3.11.7.",
    "Ranked #1 of 500 in 2023.",
    "Stars: 12,345 and forks: 1,234",
]


def test_corpus_sizes_meet_the_bar() -> None:
    assert len(TRUE_POSITIVES) >= 25 and len(FALSE_POSITIVES) >= 40


@pytest.mark.parametrize(("text", "pii", "mark"), TRUE_POSITIVES, ids=[case[1] for case in TRUE_POSITIVES])
def test_pii_is_redacted(text: str, pii: str, mark: str) -> None:
    result = redact_pii(text, [PUBLIC_EMAIL])
    assert result.text == text.replace(pii, mark)
    assert result.changed


@pytest.mark.parametrize("text", FALSE_POSITIVES)
def test_look_alikes_are_left_alone(text: str) -> None:
    result = redact_pii(text, [PUBLIC_EMAIL])
    assert result.text == text
    assert not result.changed


def test_exact_replacement_keeps_the_surrounding_text() -> None:
    text = "Email bob@corp.com or call 555-123-4567; SSN 123-45-6789. Public: hello@janedoe.dev"
    result = redact_pii(text, [PUBLIC_EMAIL])
    assert result.text == (f"Email {EMAIL_MARK} or call {PHONE_MARK}; SSN {SSN_MARK}. Public: hello@janedoe.dev")
    assert (result.emails, result.phones, result.ssns) == (1, 1, 1)


def test_allow_list_is_case_insensitive_and_exact() -> None:
    guard = Guardrails("Hello@JaneDoe.dev")
    assert guard.redact("Write to HELLO@janedoe.DEV").text == "Write to HELLO@janedoe.DEV"
    # a look-alike of the public address is still someone else's
    assert guard.redact("Write to hello@janedoe.dev.evil.com").text == f"Write to {EMAIL_MARK}"
    assert guard.redact("Write to xhello@janedoe.dev").text == f"Write to {EMAIL_MARK}"


def test_redact_returns_just_the_text() -> None:
    assert redact("Mail a@b.io or hello@janedoe.dev", allowed_emails=[PUBLIC_EMAIL]) == (
        f"Mail {EMAIL_MARK} or hello@janedoe.dev")


def test_no_allow_list_redacts_every_email() -> None:
    assert redact_pii("hello@janedoe.dev").text == EMAIL_MARK
    assert Guardrails("").redact("a@b.io").text == EMAIL_MARK


def test_digits_inside_an_email_are_not_a_phone() -> None:
    result = redact_pii("Mail 5551234567@sms.example.com", [])
    assert result.text == f"Mail {EMAIL_MARK}" and result.phones == 0


def test_multiple_phones_are_all_redacted() -> None:
    result = redact_pii("Call 555-123-4567 or +44 20 7946 0958 or (555) 987 6543, list 555-123-4567,555-765-4321.")
    assert result.text == f"Call {PHONE_MARK} or {PHONE_MARK} or {PHONE_MARK}, list {PHONE_MARK},{PHONE_MARK}."
    assert result.phones == 5


@pytest.mark.parametrize("message", ["", " ", "\n\t  ", "\u200b", " \u200b\ufeff \n", "\u00a0\u3000"])
def test_blank_input_gets_the_clarification_answer(message: str) -> None:
    assert is_blank(message)
    assert check_input(message) == CLARIFICATION_ANSWER
    assert Guardrails().check_input(message) == CLARIFICATION_ANSWER


@pytest.mark.parametrize("message", ["hi", "?", " What are her projects? "])
def test_real_input_passes(message: str) -> None:
    assert not is_blank(message)
    assert check_input(message) is None
