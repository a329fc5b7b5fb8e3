from __future__ import annotations

from chalicelib.notify.sms_segments import gsm7_safe, is_gsm7, segments


def test_gsm7_segments_are_160_alone_then_153_each() -> None:
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2
    assert segments("a" * 307) == 3


def test_extension_characters_count_twice() -> None:
    assert segments("€" * 80) == 1
    assert segments("€" * 81) == 2


def test_one_character_outside_gsm7_makes_it_ucs2_at_70_then_67() -> None:
    assert not is_gsm7("ł")
    assert segments("ł" + "a" * 69) == 1
    assert segments("ł" + "a" * 70) == 2
    assert segments("ł" + "a" * 133) == 2
    assert segments("ł" + "a" * 134) == 3


def test_gsm7_safe_drops_accents_gsm7_lacks_and_keeps_those_it_has() -> None:
    assert gsm7_safe("Zoë Łódź") == "Zoe Lodz"
    assert gsm7_safe("Müller Ñoño é") == "Müller Ñoño é"
    assert is_gsm7(gsm7_safe("李 ★ Ωmega"))
