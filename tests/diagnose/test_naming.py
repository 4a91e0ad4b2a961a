from fakes import ScriptedBackend, WordHashEmbedder

from lessons.diagnose.naming import clean_name, llm_namer
from lessons.diagnose.taxonomy import TaxonomyItem, update_taxonomy


def test_a_model_names_new_clusters_and_its_reply_is_cleaned():
    backend = ScriptedBackend(lambda chat, s: '"Adds denominators of fractions."\nmore text <script>')
    items = [TaxonomyItem(str(i), f"{i} + {i} = {2 * i + 1} fractions add denominators", ("calculation",), "fractions")
             for i in range(6)]
    result = update_taxonomy(None, items, WordHashEmbedder(), namer=llm_namer(backend))
    assert {c.name for c in result.clusters} == {"Adds denominators of fractions"}
    assert backend.calls and "Terms:" in backend.calls[0][0][0][-1]["content"]


def test_clean_name_keeps_one_plain_capped_line():
    assert clean_name("\n\n**Carry dropped**\nsecond line") == "Carry dropped"
    assert clean_name("<img src=x onerror=alert(1)>") == "img srcx onerroralert(1)"
    assert len(clean_name("word " * 50)) <= 60
    assert clean_name("   ") == ""
