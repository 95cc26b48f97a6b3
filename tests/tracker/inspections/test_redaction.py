"""Names in notices: surname plus 某, compound surnames kept whole, full names gone from every text."""

from __future__ import annotations

import pytest

from tracker.inspections.redaction import COMPOUND_SURNAMES, name_redact, names_found, surname, text_redact


@pytest.mark.parametrize(
    ("name", "redacted"),
    [
        ("张三", "张某"),
        ("王小明", "王某"),
        ("欧阳明", "欧阳某"),
        ("司马光", "司马某"),
        ("诸葛亮", "诸葛某"),
        ("上官婉儿", "上官某"),
        ("歐陽修", "歐陽某"),
        ("  李  四 ", "李某"),
        ("Zhang San", "Zhang某"),
        ("Zhangsan", "Z某"),
    ],
)
def test_a_name_becomes_its_surname_plus_mou(name: str, redacted: str) -> None:
    assert name_redact(name) == redacted


def test_a_two_character_name_that_is_a_compound_surname_keeps_only_one_character() -> None:
    # 欧阳 as a full name is 欧 + 阳: keeping both characters would print the whole name.
    assert surname("欧阳") == "欧"
    assert name_redact("欧阳") == "欧某"


def test_the_list_of_compound_surnames_holds_the_common_ones() -> None:
    assert {"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "慕容", "令狐", "尉迟", "长孙"} <= COMPOUND_SURNAMES
    assert all(len(s) == 2 for s in COMPOUND_SURNAMES)


def test_full_names_in_a_text_are_replaced_longest_first_and_however_spaced() -> None:
    text = "经查，张三丰与张三、张 三在家中有偿补课；欧阳明知情。ZHANG SAN 也参与。"
    names = ["张三", "张三丰", "欧阳明", "Zhang San"]
    redacted = text_redact(text, names)
    assert redacted == "经查，张某与张某、张某在家中有偿补课；欧阳某知情。Zhang某 也参与。"
    assert names_found(redacted, names) == []


def test_a_text_without_the_names_is_unchanged() -> None:
    assert text_redact("在职教师违规有偿补课。", ["李四"]) == "在职教师违规有偿补课。"
    assert text_redact("", ["李四"]) == ""
    assert text_redact("李四", []) == "李四"


def test_names_found_sees_a_name_split_by_spaces() -> None:
    assert names_found("据反映 李 四 在校外兼职", ["李四", "王五"]) == ["李四"]
