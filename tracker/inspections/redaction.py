"""Names in published notices: surname plus 某 (张三 -> 张某, 欧阳明 -> 欧阳某), never the full name.

A person's full name is replaced wherever it occurs in a text (also with spaces between its
characters, as people type them), the longest names first so that 张三丰 is not read as 张三 + 丰.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MASK = "某"

# Two-character surnames (复姓) of the Hundred Family Surnames and those common today, with the
# traditional forms of the frequent ones. A name starting with one keeps both characters.
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "太史",
        "端木",
        "上官",
        "司马",
        "东方",
        "独孤",
        "南宫",
        "万俟",
        "闻人",
        "夏侯",
        "诸葛",
        "尉迟",
        "公羊",
        "赫连",
        "澹台",
        "皇甫",
        "宗政",
        "濮阳",
        "公冶",
        "太叔",
        "申屠",
        "公孙",
        "慕容",
        "仲孙",
        "钟离",
        "长孙",
        "宇文",
        "司徒",
        "鲜于",
        "司空",
        "闾丘",
        "子车",
        "亓官",
        "司寇",
        "巫马",
        "公西",
        "颛孙",
        "壤驷",
        "公良",
        "漆雕",
        "乐正",
        "宰父",
        "谷梁",
        "拓跋",
        "夹谷",
        "轩辕",
        "令狐",
        "段干",
        "百里",
        "呼延",
        "东郭",
        "南门",
        "羊舌",
        "微生",
        "公户",
        "公玉",
        "公仪",
        "梁丘",
        "公仲",
        "公上",
        "公门",
        "公山",
        "公坚",
        "左丘",
        "公伯",
        "西门",
        "公祖",
        "第五",
        "公乘",
        "贯丘",
        "公皙",
        "南荣",
        "东里",
        "东宫",
        "仲长",
        "子书",
        "子桑",
        "即墨",
        "达奚",
        "褚师",
        "单于",
        "第一",
        "呼衍",
        "青阳",
        "叱干",
        "歐陽",
        "司馬",
        "諸葛",
        "東方",
        "長孫",
        "尉遲",
        "軒轅",
        "鍾離",
        "閭丘",
        "鮮于",
        "顓孫",
        "樂正",
        "穀梁",
        "夾谷",
        "東郭",
        "西門",
        "南門",
        "東里",
        "獨孤",
    ]
)


def _is_cjk(char: str) -> bool:
    return unicodedata.name(char, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def name_clean(name: str) -> str:
    """The name as stored: surrounding space removed, runs of inner space made one."""
    return " ".join(name.split())


def surname(name: str) -> str:
    """The surname of a full name: its first character, or two for a compound surname; the first
    word of a name written in Latin letters ("Zhang San" -> "Zhang")."""
    name = name_clean(name)
    if not name:
        return ""
    if _is_cjk(name[0]):
        # A two-character name that is also a compound surname (欧阳) is 欧 + 阳, not a bare surname.
        if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
            return name[:2]
        return name[0]
    first = re.split(r"[\s·.]+", name)[0]
    # "Zhang San" -> "Zhang"; a single word ("Zhangsan") keeps only its initial.
    return first if first != name else name[0]


def name_redact(name: str) -> str:
    """张三 -> 张某, 欧阳明 -> 欧阳某, Zhang San -> Zhang某."""
    family = surname(name)
    return f"{family}{MASK}" if family else ""


def _pattern(name: str) -> str:
    # Each character of the name, any whitespace allowed between two characters (张 三, Zhang  San).
    chars = [c for c in name if not c.isspace()]
    return r"\s*".join(re.escape(c) for c in chars)


def text_redact(text: str, names: Iterable[str]) -> str:
    """`text` with every occurrence of each full name replaced by its redacted form."""
    cleaned = sorted({name_clean(n) for n in names if name_clean(n)}, key=lambda n: (-len(n), n))
    if not text or not cleaned:
        return text
    by_key = {re.sub(r"\s+", "", n).casefold(): name_redact(n) for n in cleaned}
    pattern = re.compile("|".join(_pattern(n) for n in cleaned), re.IGNORECASE)
    return pattern.sub(lambda match: by_key.get(re.sub(r"\s+", "", match.group(0)).casefold(), MASK), text)


def names_found(text: str, names: Iterable[str]) -> list[str]:
    """The full names (of `names`) that occur in `text`, however spaced: a redaction's last check."""
    return [
        n for n in {name_clean(n) for n in names if name_clean(n)} if re.search(_pattern(n), text or "", re.IGNORECASE)
    ]
