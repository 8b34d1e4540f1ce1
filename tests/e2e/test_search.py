"""/author and /search through the local Discord: people, papers, typos and hostile text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.local import LocalDiscord
from bot.simulator import InteractionResult, SimUser
from bot.tree import APOLOGY
from tests.test_search_service import FLASH, LEONARDON_PAPER, TRIMBERT, YANZHI_WANG_PAPERS

HOSTILE = [
    '"',
    "*",
    "NEAR(",
    "-",
    "%",
    "'",
    "\\",
    "[",
    ".*",
    "x" * 3000,
    "flash " * 900,
    "🙂🎉🚀",
    "\u200b\u200c\u200d\ufeff",
    "Ben\u200bgio",
    "שלום עולם",
    "\u202eoigneB\u202c",
    "'; DROP TABLE entries; --",
    "@everyone <@123456789012345678>",
    "**bold** _it_ `code` ||spoiler||",
    "title:flash AND abstract:memory",
]


@pytest.fixture
async def alice(local: LocalDiscord) -> SimUser:
    return local.sim.add_user("alice")


def bold_titles(text: str) -> list[str]:
    """Titles as a listing shows them (bold, markdown-escaped), unescaped."""
    return [re.sub(r"\\(.)", r"\1", t) for t in re.findall(r"^(?:◦ )?\*\*(.+?)\*\*", text, re.M)]


def menu(result: InteractionResult, custom_id: str) -> list[dict[str, Any]]:
    for row in result.components:
        for component in row["components"]:
            if component.get("custom_id") == custom_id:
                return list(component["options"])
    return []


def labels(result: InteractionResult) -> list[str]:
    return [c.get("label", "") for row in result.components for c in row["components"]]


async def test_author_finds_people_whatever_the_spelling(alice: SimUser) -> None:
    result = await alice.slash("author", name="yanzhi wang")
    assert result.ephemeral
    embed = result.embeds[0]
    assert embed["title"] == "Yanzhi Wang"
    assert embed["description"].startswith("Speaker or author of 2 entries:")
    assert bold_titles(embed["description"]) == [
        "Low-Bit DNN Training with Hardware-Efficient Stochastic Rounding Unit Design",
        "Get the Random Number on the fly: A Low-Precision DNN Training Framework using "
        "Stochastic Rounding without the Random Number Generator",
    ]
    assert [o["value"] for o in menu(result, "list:open")] == YANZHI_WANG_PAPERS
    assert "Share in channel" in labels(result)

    result = await alice.slash("author", name="leonardon")
    embed = result.embeds[0]
    assert embed["title"] == "Mathieu Léonardon"
    assert bold_titles(embed["description"]) == [
        "Investigating the Not-So-Obvious Effects of Structured Pruning"
    ]
    card = await result.select("list:open", [LEONARDON_PAPER])
    assert (
        card.embeds[0]["title"] == "Investigating the Not-So-Obvious Effects of Structured Pruning"
    )


async def test_author_organizers_and_autocomplete(alice: SimUser) -> None:
    result = await alice.slash("author", name="bengio")
    embed = result.embeds[0]
    assert embed["title"] == "Yoshua Bengio"
    assert embed["description"] == (
        "**Yoshua Bengio** (Mila - Quebec AI Institute) organizes HAET 2022."
    )
    gripon = await alice.slash("author", name="Vincent Gripon")
    text = gripon.embeds[0]["description"]
    assert text.startswith("**Vincent Gripon** (IMT Atlantique) organizes HAET 2022.\n")
    assert "Speaker or author of 1 entry:" in text

    result = await alice.slash("author", name="xqzvy")
    assert result.ephemeral
    assert result.content == "Nobody in the program is called “xqzvy”."

    choices = await alice.autocomplete("author", name="bengi")
    assert choices[0] == {"name": "Yoshua Bengio", "value": "Yoshua Bengio"}
    first = await alice.autocomplete("author", name="")
    assert len(first) == 25
    assert first[:2] == [
        {"name": "Melika Payvand", "value": "Melika Payvand"},
        {"name": "Alexander Keller", "value": "Alexander Keller"},
    ]
    assert (await alice.autocomplete("author", name="léon"))[0]["value"] == "Mathieu Léonardon"


async def test_search_ranks_explains_and_pages(alice: SimUser) -> None:
    result = await alice.slash("search", query="flash atention")
    assert result.ephemeral
    embed = result.embeds[0]
    assert embed["title"] == "Search: “flash atention”"
    assert bold_titles(embed["description"])[0].startswith("FlashAttention: Fast and Memory")
    assert menu(result, "list:open")[0]["value"] == FLASH

    by_person = await alice.slash("search", query="yanzhi wang")
    text = by_person.embeds[0]["description"]
    assert "Matched: Yanzhi Wang" in text
    by_abstract = await alice.slash("search", query="stochastic rounding units")
    assert "> " in by_abstract.embeds[0]["description"]

    result = await alice.slash("search", query="training")
    first = result.embeds[0]
    assert first["footer"]["text"].startswith("Page 1/")
    seen = bold_titles(first["description"])
    assert len(seen) == 9  # nine results a page: always within one embed
    pages = int(first["footer"]["text"].split("/")[1])
    for number in range(2, pages + 1):
        await result.click("Next")
        page = result.embeds[0]
        assert page["footer"]["text"] == f"Page {number}/{pages}"
        more = bold_titles(page["description"])
        assert more and not set(more) & set(seen)
        seen += more
    # Every result once, in the order ranked, across the pages rendered as they were shown.
    assert len(seen) == len(set(seen))
    await result.click("Previous")
    assert result.embeds[0]["footer"]["text"] == f"Page {pages - 1}/{pages}"


async def test_hostile_text_answers_normally(alice: SimUser) -> None:
    for text in HOSTILE:
        for command, option in [("search", "query"), ("author", "name")]:
            result = await alice.slash(command, options={option: text})
            assert result.ephemeral, (command, text)
            assert result.content != APOLOGY, (command, text)
            assert result.embeds or (result.content or "").startswith(("Nothing", "Nobody"))
            # The echo can neither ping nor break out of its quotes.
            assert "@everyone" not in (result.content or "")
        assert len(await alice.autocomplete("author", name=text)) <= 25
        card = await alice.slash("schedule talk", title=text)
        assert card.ephemeral and card.content != APOLOGY
        assert len(await alice.autocomplete("schedule talk", title=text)) <= 25
        assert len(await alice.autocomplete("schedule session", session=text)) <= 25
        assert len(await alice.autocomplete("schedule kind", kind=text)) <= 25


async def test_lookups_work_in_direct_messages(local: LocalDiscord, alice: SimUser) -> None:
    assert local.bot is not None
    # DMs only see global commands, which are synced on purpose (`workshop-bot sync`).
    await local.bot.tree.sync()
    author = await alice.slash("author", dm=True, name="yanzhi wang")
    assert author.embeds[0]["title"] == "Yanzhi Wang"
    assert "Share in channel" not in labels(author)
    found = await alice.slash("search", dm=True, query="trimbert")
    assert menu(found, "list:open")[0]["value"] == TRIMBERT
    card = await found.select("list:open", [TRIMBERT])
    assert card.embeds[0]["title"] == "TrimBERT: Tailoring BERT for Trade-offs"
    assert (await alice.autocomplete("author", dm=True, name="payv"))[0]["value"] == (
        "Melika Payvand"
    )


# -- issue 13, item 7: a name several people share --------------------------------------------


async def test_author_lists_everyone_a_shared_name_may_mean(alice: SimUser) -> None:
    result = await alice.slash("author", name="Zhang")
    assert result.ephemeral
    embed = result.embeds[0]
    assert embed["title"] == "3 people match “Zhang”"
    assert bold_titles(embed["description"]) == ["Yichi Zhang", "Zheng Zhang", "Zhiru Zhang"]
    assert embed["footer"]["text"] == "Pick one to see what they present."
    options = menu(result, "card:author")
    assert [o["label"] for o in options] == ["Yichi Zhang", "Zheng Zhang", "Zhiru Zhang"]
    picked = await result.select("card:author", [options[2]["value"]])
    assert picked.embeds[0]["title"] == "Zhiru Zhang"
    assert picked.embeds[0]["description"].startswith("Speaker or author of ")

    # A name spelled two ways in the program: both people, not the exact spelling alone.
    mathieu = await alice.slash("author", name="Mathieu")
    assert mathieu.embeds[0]["title"] == "2 people match “Mathieu”"
    assert bold_titles(mathieu.embeds[0]["description"]) == [
        "Mathieu Léonardon",
        "Matthieu Arzel",
    ]
    assert (
        "**Mathieu Léonardon** · *Investigating the Not-So-Obvious Effects of Structured Pruning*"
        in mathieu.embeds[0]["description"]
    )

    # A whole name is one person, and so is the other spelling's full name.
    assert (await alice.slash("author", name="zhiru zhang")).embeds[0]["title"] == "Zhiru Zhang"
    assert (await alice.slash("author", name="Mathieu Arzel")).embeds[0]["title"] == (
        "Matthieu Arzel"
    )
    assert (await alice.slash("author", name="leonardon")).embeds[0]["title"] == (
        "Mathieu Léonardon"
    )


# -- issue 13, item 8: talk autocomplete by speaker and by any word ----------------------------


QUERLIOZ = {
    "name": "Damien Querlioz — Memory-Centric Machine Learning",
    "value": "keynote-damien-querlioz",
}
TANG = "keynote-jian-tang"
GROUPBERT = "GroupBERT: Enhanced Transformer Architecture with Efficient GroupedStructures"


@pytest.mark.parametrize("command", ["schedule talk", "remind talk"])
async def test_talk_autocomplete_finds_speakers_and_words_inside_titles(
    alice: SimUser, command: str
) -> None:
    assert (await alice.autocomplete(command, title="querlioz"))[0] == QUERLIOZ
    # Accents and typos forgiven as /search forgives them.
    assert (await alice.autocomplete(command, title="Quérlios"))[0] == QUERLIOZ
    tang = (await alice.autocomplete(command, title="tang"))[0]
    assert tang["value"] == TANG
    assert tang["name"].startswith("Jian Tang — Neural Bellman-Ford Networks")
    assert len(tang["name"]) <= 100
    bert = [c["name"] for c in await alice.autocomplete(command, title="bert")]
    assert "TrimBERT: Tailoring BERT for Trade-offs" in bert
    assert GROUPBERT in bert
    # A title's own start still comes first, with the title alone.
    assert (await alice.autocomplete(command, title="trim"))[0]["name"] == (
        "TrimBERT: Tailoring BERT for Trade-offs"
    )
