"""Guardrails: blank input, and a corpus of PII that must be redacted and look-alikes that must not."""

from __future__ import annotations

import pytest

from folionaut.chat.guardrails import (
    CARD_MARK,
    CLARIFICATION_ANSWER,
    EMAIL_MARK,
    IBAN_MARK,
    PHONE_MARK,
    SSN_MARK,
    Guardrails,
    Redactor,
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
    # national and international formats of the countries we cover
    ("Appelez le 06 12 34 56 78 ce soir", "06 12 34 56 78", PHONE_MARK),
    ("Bureau : 01.23.45.67.89", "01.23.45.67.89", PHONE_MARK),
    ("Mobile FR +33 6 12 34 56 78", "+33 6 12 34 56 78", PHONE_MARK),
    ("De France: 0033 6 12 34 56 78", "0033 6 12 34 56 78", PHONE_MARK),
    ("Paris +33 (0)1 23 45 67 89", "+33 (0)1 23 45 67 89", PHONE_MARK),
    ("Llámame al 612 34 56 78", "612 34 56 78", PHONE_MARK),
    ("Móvil 612 345 678", "612 345 678", PHONE_MARK),
    ("Oficina 91 123 45 67", "91 123 45 67", PHONE_MARK),
    ("Spain: +34 612 34 56 78", "+34 612 34 56 78", PHONE_MARK),
    ("Liga para 912 345 678", "912 345 678", PHONE_MARK),
    ("Lisboa 21 123 4567", "21 123 4567", PHONE_MARK),
    ("Portugal +351 912 345 678", "+351 912 345 678", PHONE_MARK),
    ("Handy 0151 23456789", "0151 23456789", PHONE_MARK),
    ("Büro 030 12345678", "030 12345678", PHONE_MARK),
    ("Zentrale (030) 1234567", "(030) 1234567", PHONE_MARK),
    ("DE mobile +49 151 23456789", "+49 151 23456789", PHONE_MARK),
    ("Aus dem Ausland 0049 30 12345678", "0049 30 12345678", PHONE_MARK),
    ("Chiamami al 347 123 4567", "347 123 4567", PHONE_MARK),
    ("Cellulare 347 1234567", "347 1234567", PHONE_MARK),
    ("Roma 06 1234 5678", "06 1234 5678", PHONE_MARK),
    ("Italia +39 347 123 4567", "+39 347 123 4567", PHONE_MARK),
    ("Bel me op 06-12345678", "06-12345678", PHONE_MARK),
    ("Amsterdam 020 123 4567", "020 123 4567", PHONE_MARK),
    ("NL +31 6 12345678", "+31 6 12345678", PHONE_MARK),
    ("Ring 98765 43210 in Bengaluru", "98765 43210", PHONE_MARK),
    ("Mumbai office 022 2345 6789", "022 2345 6789", PHONE_MARK),
    ("India +91-98765-43210", "+91-98765-43210", PHONE_MARK),
    ("Ligue (11) 91234-5678", "(11) 91234-5678", PHONE_MARK),
    ("Escritório (21) 3456-7890", "(21) 3456-7890", PHONE_MARK),
    ("Brasil +55 11 91234-5678", "+55 11 91234-5678", PHONE_MARK),
    ("東京 03-1234-5678", "03-1234-5678", PHONE_MARK),
    ("Mobile 090-1234-5678", "090-1234-5678", PHONE_MARK),
    ("Japan +81 90-1234-5678", "+81 90-1234-5678", PHONE_MARK),
    ("Sydney (02) 9876 5432", "(02) 9876 5432", PHONE_MARK),
    ("Mob 0412 345 678", "0412 345 678", PHONE_MARK),
    ("Australia +61 412 345 678", "+61 412 345 678", PHONE_MARK),
    ("UK +44 7700 900123", "+44 7700 900123", PHONE_MARK),
    ("Landline 01632 960983", "01632 960983", PHONE_MARK),
    ("Bare French mobile 0612345678 works", "0612345678", PHONE_MARK),
    ("Bare UK 07700900123 too", "07700900123", PHONE_MARK),
    ("Bare E.164 +33612345678", "+33612345678", PHONE_MARK),
    # obfuscated and internationalised e-mails
    ("Write to jane at example dot com", "jane at example dot com", EMAIL_MARK),
    ("Mail jane dot doe at example dot co dot uk", "jane dot doe at example dot co dot uk", EMAIL_MARK),
    ("Contact JANE AT EXAMPLE DOT COM", "JANE AT EXAMPLE DOT COM", EMAIL_MARK),
    ("Reach jane{at}example{dot}org", "jane{at}example{dot}org", EMAIL_MARK),
    ("Send to jane [at] example.com", "jane [at] example.com", EMAIL_MARK),
    ("Escribe a josé@españa.es", "josé@españa.es", EMAIL_MARK),
    ("Schreib an jürgen@münchen.de", "jürgen@münchen.de", EMAIL_MARK),
    ("联系 用户@例子.广告 谢谢", "用户@例子.广告", EMAIL_MARK),
    ("Пишите: иван@пример.рф", "иван@пример.рф", EMAIL_MARK),
    ("Punycode: user@xn--mnchen-3ya.de", "user@xn--mnchen-3ya.de", EMAIL_MARK),
    # IBANs (valid checksums)
    ("IBAN DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00", IBAN_MARK),
    ("Pay GB82WEST12345698765432 please", "GB82WEST12345698765432", IBAN_MARK),
    ("FR: FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606", IBAN_MARK),
    ("NL91 ABNA 0417 1643 00 is mine", "NL91 ABNA 0417 1643 00", IBAN_MARK),
    # payment cards (valid Luhn)
    ("Card 4111 1111 1111 1111 exp 12/27", "4111 1111 1111 1111", CARD_MARK),
    ("Use 5500-0000-0000-0004", "5500-0000-0000-0004", CARD_MARK),
    ("Amex 3782 822463 10005", "3782 822463 10005", CARD_MARK),
    ("Visa 4012888888881881", "4012888888881881", CARD_MARK),
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
    "A population of 1 234 567 people.",
    "IBAN-like DE89 3704 0044 0532 0130 01 fails the checksum.",
    "Card-like 4111 1111 1111 1112 fails Luhn.",
    "Order 1234567890123 shipped.",
    "Invoice INV-2023-00042 paid.",
    "ISBN 0-306-40615-2 and ISBN-13: 978-0-306-40615-7",
    "Between 09:00-17:30 CET.",
    "Population 612 345 678 people",
    "Raised 912 345 678 euros",
    "Build 20230115.1 passed",
    "Tracking 1Z999AA10123456784",
    "jane worked at example dot com in 2019",
    "She lives at 221B Baker Street.",
    "Lat 48.8566, lon 2.3522",
    "GPS 48°51'24\"N 2°21'08\"E",
    "Version 2024.03.01 released",
    "Years 1999-2004, 2005–2010 and 2011 - 2015.",
    "Serial SN-0042-7781",
    "Rated 4.8/5 by 1,024 reviewers",
    "Room 101, floor 12, building 3",
    "PIN code 560001",
    "Priced at R$ 1.299,90",
    "Speed 100/1000 Mbit",
    "Sprint 42 closed 37 of 40 tickets.",
    "He scored 3-1 in the 2022-23 season.",
    "Phone number: not published.",
    "Issue #10234 and #10235",
    "Hash 5f4dcc3b5aa765d61d8327deb882cf99",
    "Twitter: @jane_doe_2019",
    "Listed 0.5-1.0 mg doses",
    "Date 2024/03/15 and 15/03/2024",
    "Range 10000-20000 users",
    "MAC 00:1B:44:11:3A:B7",
    "IPv6 2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "Launched 2018, rewritten 2021, 2.5M downloads, 4.9 stars.",
]


def test_corpus_sizes_meet_the_bar() -> None:
    assert len(TRUE_POSITIVES) >= 90 and len(FALSE_POSITIVES) >= 80


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


def test_two_phones_in_one_list_are_both_redacted() -> None:
    result = redact_pii("Two: 555-123-4567 / 555-765-4321")
    assert result.text == f"Two: {PHONE_MARK} / {PHONE_MARK}" and result.phones == 2


def test_ibans_and_cards_are_counted() -> None:
    result = redact_pii("Pay GB82WEST12345698765432 or card 4111 1111 1111 1111.")
    assert result.text == f"Pay {IBAN_MARK} or card {CARD_MARK}."
    assert (result.ibans, result.cards) == (1, 1)


@pytest.mark.parametrize("written", ["+44 20 7946 0000", "020 7946 0000", "0044 20 7946 0000", "+442079460000"])
def test_the_public_phone_is_kept_in_any_written_form(written: str) -> None:
    guard = Guardrails("hello@janedoe.dev", "+44 20 7946 0000")
    text = f"Call Jane on {written} or write to hello@janedoe.dev; not 020 7946 0958."
    assert guard.redact(text).text == f"Call Jane on {written} or write to hello@janedoe.dev; not {PHONE_MARK}."


def test_redact_value_walks_json_and_keeps_keys() -> None:
    value = {"items": [{"data": {"phone": "+33 6 12 34 56 78", "email": "x@y.io", "year": 2021}}], "ok": True}
    assert Redactor().redact_value(value) == {
        "items": [{"data": {"phone": PHONE_MARK, "email": EMAIL_MARK, "year": 2021}}], "ok": True}


STREAMED = ("Sure! You can call Jane on +44 20 7946 0958 or mail jane.doe@example.com; her IBAN is "
            "DE89 3704 0044 0532 0130 00. Since 2019-2023 she shipped v2.3.4. Phone: 5551234567 works.")


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, 11, 16, 64])
def test_streamed_text_is_redacted_like_the_whole_text(chunk_size: int) -> None:
    redactor = Redactor()
    stream = redactor.stream()
    sent = []
    for index in range(0, len(STREAMED), chunk_size):
        piece = stream.push(STREAMED[index:index + chunk_size])
        sent.append(piece)
        # Nothing sent so far may hold a digit run of the phone or a part of the address.
        joined = "".join(sent)
        assert "7946" not in joined and "jane.doe" not in joined and "0532" not in joined
    sent.append(stream.finish())
    assert "".join(sent) == redactor.redact(STREAMED).text
    assert stream.counts.phones == 2 and stream.counts.emails == 1 and stream.counts.ibans == 1


def test_every_split_point_of_a_phone_is_caught() -> None:
    text = "Reach me on 06 12 34 56 78 tonight, or on +49 151 23456789 tomorrow."
    redactor = Redactor()
    expected = redactor.redact(text).text
    assert "12 34" not in expected and "23456789" not in expected
    for split in range(1, len(text)):
        stream = redactor.stream()
        out = stream.push(text[:split]) + stream.push(text[split:]) + stream.finish()
        assert out == expected, split
