"""Built-in IFEval-style prompts and a constructive responder that follows them.

A prompt is a base writing task ("Write a short blog post about city gardens.")
followed by one to four compatible instructions, described in IFEval's own words,
with concrete arguments drawn in the reference's ranges. :func:`respond` writes a
response that follows every instruction of a problem (the task's ``reference``; also
the warm-start data of the trainer); the generator only emits problems whose
reference response the verifier scores 1.0, redrawing arguments otherwise.
"""

from __future__ import annotations

import json
import math
import random
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.envs.ifeval.instructions import (
    CONFLICTS,
    CONSTRAINED_RESPONSE_OPTIONS,
    INSTRUCTION_IDS,
    RELATIONS,
    check_instruction,
    describe_instruction,
)

__all__ = ["generate_problem", "respond", "TASKS", "TOPICS", "GENERATOR_LANGUAGES", "MAX_INSTRUCTIONS"]

MAX_INSTRUCTIONS = 4

TASKS = (
    "Write a short blog post about {topic}.",
    "Write a letter to a friend about {topic}.",
    "Write a short essay about {topic}.",
    "Write a product description for a new app about {topic}.",
    "Write a story for children about {topic}.",
    "Write a speech for a school event about {topic}.",
    "Write a newsletter for a local club about {topic}.",
    "Explain {topic} to a curious teenager.",
    "Write an advertisement for a workshop on {topic}.",
    "Write a summary of the main ideas behind {topic}.",
    "Write a travel guide entry inspired by {topic}.",
    "Write a cover letter for a job related to {topic}.",
    "Write a review of a book about {topic}.",
    "Write a short proposal for a community project on {topic}.",
)

TOPICS = (
    "city gardens", "learning a second language", "morning routines", "electric bicycles",
    "the history of tea", "saving money", "volunteering", "remote work", "bird watching",
    "healthy sleep", "public libraries", "board games", "ocean cleanup", "solar panels",
    "street food", "the night sky", "recycling at home", "learning to cook", "mountain hiking",
    "jazz music", "rainy days", "old photographs", "small businesses", "train travel",
    "beekeeping", "first jobs", "museum visits", "winter sports", "digital privacy", "kindness",
)  # fmt: skip

KEYWORDS = (
    "river", "lantern", "harvest", "compass", "orchard", "thunder", "canvas", "ladder", "meadow",
    "puzzle", "anchor", "blanket", "candle", "violin", "marble", "feather", "journey", "kitchen",
    "festival", "window", "garden", "bridge", "forest", "pocket", "engine", "island", "mirror",
    "pencil", "harbor", "tunnel", "circus", "planet", "kettle", "sunrise", "pattern", "velvet",
    "basket", "ribbon", "cottage", "pillow", "castle", "wagon", "glacier", "saddle", "compost",
    "trumpet", "lighthouse", "notebook", "umbrella", "volcano", "meteor", "balcony", "cushion",
)  # fmt: skip

END_PHRASES = ("Any other questions?", "Is there anything else I can help with?")
POSTSCRIPT_MARKERS = ("P.S.", "P.P.S")
SECTION_SPLITTERS = ("Section", "SECTION")

# Languages the responder can write; the verifier accepts all of LANGUAGE_CODES.
_TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "filler": [
            "This topic touches the daily lives of many people.",
            "There are several good reasons to think about it carefully.",
            "Small steps often make a big difference over time.",
            "The history behind it is richer than most of us expect.",
            "Simple habits can turn a vague idea into real progress.",
            "Many readers find that the details matter more than the headlines.",
            "The best approach starts with clear goals and honest questions.",
            "Friends and families often share their own stories about it.",
            "Looking at the numbers helps to separate facts from rumors.",
            "Every season brings new chances to learn something useful.",
            "The costs are real but the benefits tend to last longer.",
            "Good planning saves time and avoids needless stress.",
            "Curiosity keeps the conversation going.",
            "Local communities have found creative ways to take part.",
            "Clear writing makes even complex ideas easy to follow.",
            "Patience pays off for those who keep going.",
            "Some of the most useful lessons come from simple mistakes.",
            "Sharing what works helps everyone move forward.",
            "Quiet moments often bring the best ideas.",
            "It is worth trying more than one way before deciding.",
        ],
        "title": "Notes on {topic}",
        "fill_in": "Please fill in",
        "slots": ["name", "address", "date", "phone number", "city", "email", "company", "time"],
        "ps": "Thank you for reading this far.",
        "mention": "This text also mentions",
    },
    "es": {
        "filler": [
            "Este tema toca la vida diaria de muchas personas.",
            "Hay varias buenas razones para pensarlo con calma.",
            "Los pequeños pasos suelen cambiar mucho con el tiempo.",
            "La historia detrás de esto es más rica de lo que parece.",
            "Los hábitos sencillos pueden convertir una idea en progreso real.",
            "Muchos lectores creen que los detalles importan más que los titulares.",
            "El mejor enfoque empieza con metas claras y preguntas honestas.",
            "Las familias suelen compartir sus propias historias sobre esto.",
            "Mirar los números ayuda a separar los hechos de los rumores.",
            "Cada estación trae nuevas oportunidades para aprender algo útil.",
            "Una buena planificación ahorra tiempo y evita el estrés.",
            "La curiosidad mantiene viva la conversación entre todos.",
        ],
        "title": "Notas sobre el tema",
        "fill_in": "Escriba aquí su",
        "slots": ["nombre", "dirección", "fecha", "teléfono", "ciudad", "correo"],
        "ps": "Gracias por leer hasta aquí.",
    },
    "fr": {
        "filler": [
            "Ce sujet touche la vie quotidienne de beaucoup de gens.",
            "Il existe plusieurs bonnes raisons d'y réfléchir avec soin.",
            "Les petits pas font souvent une grande différence.",
            "L'histoire qui se cache derrière est plus riche qu'on ne le croit.",
            "Des habitudes simples peuvent transformer une idée en vrai progrès.",
            "Beaucoup de lecteurs trouvent que les détails comptent plus que les titres.",
            "La meilleure approche commence par des objectifs clairs.",
            "Les familles partagent souvent leurs propres histoires à ce sujet.",
            "Regarder les chiffres aide à séparer les faits des rumeurs.",
            "Chaque saison apporte de nouvelles occasions d'apprendre.",
            "Une bonne préparation fait gagner du temps et évite le stress.",
            "La curiosité garde la conversation vivante.",
        ],
        "title": "Notes sur le sujet",
        "fill_in": "Indiquez ici votre",
        "slots": ["nom", "adresse", "date", "téléphone", "ville", "courriel"],
        "ps": "Merci de votre lecture attentive.",
    },
    "de": {
        "filler": [
            "Dieses Thema betrifft das tägliche Leben vieler Menschen.",
            "Es gibt mehrere gute Gründe für ein genaues Nachdenken.",
            "Kleine Schritte bewirken oft sehr viel.",
            "Die Geschichte dahinter ist reicher als die meisten erwarten.",
            "Einfache Gewohnheiten machen aus einer Idee echten Fortschritt.",
            "Viele Leser finden die Details wichtiger als die Schlagzeilen.",
            "Der beste Ansatz beginnt mit klaren Zielen und ehrlichen Fragen.",
            "Familien erzählen oft ihre eigenen Geschichten darüber.",
            "Ein Blick auf die Zahlen trennt Fakten von Gerüchten.",
            "Jede Jahreszeit bringt neue Gelegenheiten zum Lernen.",
            "Gute Planung spart Zeit und vermeidet unnötigen Stress.",
            "Neugier hält das Gespräch lebendig.",
        ],
        "title": "Gedanken zum Thema",
        "fill_in": "Bitte hier eintragen",
        "slots": ["Name", "Adresse", "Datum", "Telefonnummer", "Stadt", "Firma"],
        "ps": "Vielen Dank für das Lesen.",
    },
    "it": {
        "filler": [
            "Questo tema tocca la vita quotidiana di molte persone.",
            "Ci sono diverse buone ragioni per pensarci con calma.",
            "I piccoli passi fanno spesso una grande differenza.",
            "La storia dietro questo argomento è più ricca di quanto sembri.",
            "Abitudini semplici possono trasformare un'idea in un vero progresso.",
            "Molti lettori pensano che i dettagli contino più dei titoli.",
            "L'approccio migliore comincia con obiettivi chiari e domande oneste.",
            "Le famiglie raccontano spesso le loro storie su questo tema.",
            "Guardare i numeri aiuta a separare i fatti dalle voci.",
            "Ogni stagione porta nuove occasioni per imparare qualcosa di utile.",
            "Una buona pianificazione fa risparmiare tempo e fatica.",
            "La curiosità mantiene viva la conversazione.",
        ],
        "title": "Appunti sul tema",
        "fill_in": "Scrivi qui il tuo",
        "slots": ["nome", "indirizzo", "data", "telefono", "città", "azienda"],
        "ps": "Grazie per aver letto fin qui.",
    },
    "pt": {
        "filler": [
            "Este tema toca a vida diária de muitas pessoas.",
            "Existem várias boas razões para pensar nisso com calma.",
            "Os pequenos passos fazem muitas vezes uma grande diferença.",
            "A história por trás disso é mais rica do que parece.",
            "Hábitos simples podem transformar uma ideia em progresso real.",
            "Muitos leitores acham que os detalhes importam mais do que as manchetes.",
            "A melhor abordagem começa com metas claras e perguntas honestas.",
            "As famílias costumam partilhar as suas próprias histórias sobre isso.",
            "Olhar para os números ajuda a separar os fatos dos boatos.",
            "Cada estação traz novas oportunidades para aprender algo útil.",
            "Um bom planejamento economiza tempo e evita o estresse.",
            "A curiosidade mantém a conversa viva.",
        ],
        "title": "Notas sobre o assunto",
        "fill_in": "Escreva aqui o seu",
        "slots": ["nome", "endereço", "telefone", "cidade", "empresa", "correio"],
        "ps": "Obrigado por ler até aqui.",
    },
    "ru": {
        "filler": [
            "Эта тема касается повседневной жизни многих людей.",
            "Есть несколько хороших причин подумать об этом спокойно.",
            "Маленькие шаги часто дают большой результат.",
            "У этой истории много интересных деталей.",
            "Простые привычки превращают идею в настоящий прогресс.",
            "Многие читатели ценят детали больше заголовков.",
            "Лучший подход начинается с ясных целей и честных вопросов.",
            "Семьи часто рассказывают свои истории об этом.",
            "Цифры помогают отделить факты от слухов.",
            "Каждый сезон приносит новые возможности для учёбы.",
            "Хорошее планирование экономит время и силы.",
            "Любопытство поддерживает живой разговор.",
        ],
        "title": "Заметки по теме",
        "fill_in": "Укажите здесь",
        "slots": ["имя", "адрес", "дата", "телефон", "город", "компания"],
        "ps": "Спасибо за внимание.",
    },
}
GENERATOR_LANGUAGES = tuple(k for k in _TEXTS if k != "en")

_ID = {  # short names used below
    "existence": "keywords:existence",
    "frequency": "keywords:frequency",
    "forbidden": "keywords:forbidden_words",
    "letter": "keywords:letter_frequency",
    "language": "language:response_language",
    "sentences": "length_constraints:number_sentences",
    "paragraphs": "length_constraints:number_paragraphs",
    "words": "length_constraints:number_words",
    "nth": "length_constraints:nth_paragraph_first_word",
    "placeholders": "detectable_content:number_placeholders",
    "postscript": "detectable_content:postscript",
    "bullets": "detectable_format:number_bullet_lists",
    "constrained": "detectable_format:constrained_response",
    "highlights": "detectable_format:number_highlighted_sections",
    "sections": "detectable_format:multiple_sections",
    "json": "detectable_format:json_format",
    "title": "detectable_format:title",
    "two": "combination:two_responses",
    "repeat": "combination:repeat_prompt",
    "end": "startend:end_checker",
    "quotation": "startend:quotation",
    "capital_words": "change_case:capital_word_frequency",
    "upper": "change_case:english_capital",
    "lower": "change_case:english_lowercase",
    "no_comma": "punctuation:no_comma",
}
# Allowed by IFEval's conflict table but impossible to satisfy together.
_UNSATISFIABLE = {frozenset({_ID["sections"], _ID["lower"]})}


def _stable_rng(*parts: Any) -> random.Random:
    return random.Random(zlib.crc32(repr(parts).encode()))


# --------------------------------------------------------------------------- responder


def _words_of(texts: Sequence[str]) -> set[str]:
    return {w.lower() for t in texts for w in re.findall(r"\w+", t)}


def _highlight(sentence: str) -> str:
    words = sentence.rstrip(".").split()
    if len(words) < 2:
        return f"{sentence} *{sentence.rstrip('.')}*"
    words[-1] = f"*{words[-1]}*"
    return " ".join(words) + "."


def _shout(sentence: str, k: int) -> tuple[str, int]:
    """Upper-case up to k words (not the first) of a sentence; returns it and how many."""
    words = sentence.rstrip(".").split()
    done = 0
    for i in range(1, len(words)):
        if done >= k:
            break
        if len(words[i]) > 1 and words[i].isalpha():
            words[i] = words[i].upper()
            done += 1
    return " ".join(words) + ".", done


def _letter_words(letter: str) -> list[str]:
    words = [w for w in KEYWORDS + tuple(w for t in TOPICS for w in t.split()) if letter in w]
    return sorted(set(words), key=lambda w: (-w.count(letter), w)) or [letter * 3]


def _assemble(spec: Mapping[str, dict[str, Any]], topic: str, n_fill: int, offset: int, second: bool = False) -> str:
    """One candidate response for the instructions in ``spec`` (short name -> kwargs)."""
    lang = spec["language"]["language"] if "language" in spec else "en"
    texts = _TEXTS.get(lang, _TEXTS["en"])
    pool = list(texts["filler"])
    if "letter" in spec and spec["letter"]["let_relation"] == "less than":
        letter = spec["letter"]["letter"]
        pool.sort(key=lambda s: s.lower().count(letter))
    if "frequency" in spec and spec["frequency"]["relation"] == "less than":
        kw = spec["frequency"]["keyword"].lower()
        pool.sort(key=lambda s: s.lower().count(kw))
    if "forbidden" in spec:
        banned = [w.lower() for w in spec["forbidden"]["forbidden_words"]]
        pool = [s for s in pool if not any(re.search(rf"\b{re.escape(b)}\b", s.lower()) for b in banned)] or pool
    start = offset * 3 + (7 if second else 0)
    sentences = [pool[(start + i) % len(pool)] for i in range(n_fill)]

    extra: list[str] = []
    if "existence" in spec:
        extra.append(f"{texts.get('mention', _TEXTS['en']['mention'])} {' and '.join(spec['existence']['keywords'])}.")
    if "frequency" in spec and spec["frequency"]["relation"] == "at least":
        k = spec["frequency"]["keyword"].strip()
        extra.append(f"{texts.get('mention', _TEXTS['en']['mention'])} {' and '.join([k] * spec['frequency']['frequency'])}.")
    if "placeholders" in spec:
        slots = texts["slots"]
        for i in range(spec["placeholders"]["num_placeholders"]):
            extra.append(f"{texts['fill_in']} [{slots[i % len(slots)]}].")
    if "letter" in spec and spec["letter"]["let_relation"] == "at least":
        letter = spec["letter"]["letter"]
        words = _letter_words(letter)
        need = spec["letter"]["let_frequency"]
        chosen: list[str] = []
        while sum(w.count(letter) for w in chosen) < need:
            chosen.append(words[len(chosen) % len(words)])
        extra.append(" ".join(chosen).capitalize() + ".")
    sentences = extra + sentences
    if "highlights" in spec:
        n = spec["highlights"]["num_highlights"]
        while len(sentences) < n:
            sentences.append(pool[(start + len(sentences)) % len(pool)])
        sentences = [_highlight(s) if i < n else s for i, s in enumerate(sentences)]
    if "capital_words" in spec and spec["capital_words"]["capital_relation"] == "at least":
        need = spec["capital_words"]["capital_frequency"]
        out = []
        for s in sentences:
            if need > 0:
                s, done = _shout(s, need)
                need -= done
            out.append(s)
        while need > 0:
            s, done = _shout(pool[(start + len(out)) % len(pool)], need)
            need -= done
            out.append(s)
        sentences = out

    # paragraphs: P blocks; sections are headers inside them
    n_par = spec.get("paragraphs", spec.get("nth", {})).get("num_paragraphs", 1) or 1
    n_sec = spec["sections"]["num_sections"] if "sections" in spec else 0
    n_units = max(n_par, n_sec, 1)
    while len(sentences) < n_units:
        sentences.append(pool[(start + len(sentences)) % len(pool)])
    chunks = [sentences[i * len(sentences) // n_units : (i + 1) * len(sentences) // n_units] for i in range(n_units)]
    units = []
    for i, chunk in enumerate(chunks):
        body = " ".join(chunk)
        if i < n_sec:
            body = f"{spec['sections']['section_spliter'].strip()} {i + 1}\n{body}"
        units.append(body)
    paragraphs = ["\n".join(units[i * n_units // n_par : (i + 1) * n_units // n_par]) for i in range(n_par)]
    if "nth" in spec:
        n = spec["nth"]["nth_paragraph"]
        word = spec["nth"]["first_word"]
        if 1 <= n <= n_par:
            paragraphs[n - 1] = f"{word.capitalize()} {pool[(start + 5) % len(pool)]}\n{paragraphs[n - 1]}"
    if "title" in spec:
        title = f"<<{texts['title'].format(topic=topic.title())}>>"
        if "nth" in spec and spec["nth"]["nth_paragraph"] == 1:
            first, _, rest = paragraphs[0].partition("\n")
            paragraphs[0] = f"{first}\n{title}" + (f"\n{rest}" if rest else "")
        else:
            paragraphs[0] = f"{title}\n{paragraphs[0]}"
    if "bullets" in spec:
        items = [f"* {pool[(start + 11 + i) % len(pool)]}" for i in range(spec["bullets"]["num_bullets"])]
        paragraphs[-1] = paragraphs[-1] + "\n" + "\n".join(items)
    if "postscript" in spec:
        paragraphs[-1] += f"\n{spec['postscript']['postscript_marker'].strip()} {texts['ps']}"
    separator = "\n***\n" if "paragraphs" in spec else "\n\n"
    return separator.join(paragraphs)


def _finish(spec: Mapping[str, dict[str, Any]], body: str) -> str:
    text = body
    if "repeat" in spec:
        text = f"{spec['repeat']['prompt_to_repeat'].strip()}\n{text}"
    if "end" in spec:
        text = f"{text}\n{spec['end']['end_phrase'].strip()}"
    if "upper" in spec:
        text = text.upper()
    if "lower" in spec:
        text = text.lower()
    if "quotation" in spec:
        text = f'"{text}"'
    return text


def _short(instruction_ids: Sequence[str], kwargs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    names = {v: k for k, v in _ID.items()}
    return {names[i]: dict(kw) for i, kw in zip(instruction_ids, kwargs) if i in names}


def _score(text: str, ids: Sequence[str], kwargs: Sequence[Mapping[str, Any]]) -> int:
    return sum(check_instruction(i, text, kw) for i, kw in zip(ids, kwargs))


def respond(
    instruction_ids: Sequence[str], kwargs: Sequence[Mapping[str, Any]], topic: str = "this topic"
) -> str:
    """A response following every instruction (normalized kwargs), or the closest found.

    Deterministic: a search over the amount and order of filler text, each candidate
    checked with the same checkers the verifier uses.
    """
    spec = _short(instruction_ids, kwargs)
    if "constrained" in spec:
        return CONSTRAINED_RESPONSE_OPTIONS[0]
    if "json" in spec:
        words = [] if "existence" not in spec else spec["existence"]["keywords"]
        pool = _TEXTS["en"]["filler"]
        banned = [w.lower() for w in spec.get("forbidden", {}).get("forbidden_words", [])]
        safe = [s for s in pool if not any(re.search(rf"\b{re.escape(b)}\b", s.lower()) for b in banned)]
        content = " ".join(safe[:3] + ([f"{_TEXTS['en']['mention']} {' and '.join(words)}."] if words else []))
        return "```json\n" + json.dumps({"topic": topic, "text": content}, indent=2) + "\n```"
    total = len(instruction_ids)
    best, best_score = "", -1
    lower_words = 0
    if "words" in spec and spec["words"]["relation"] == "at least":
        lower_words = spec["words"]["num_words"]
    lower_sent = 0
    if "sentences" in spec and spec["sentences"]["relation"] == "at least":
        lower_sent = spec["sentences"]["num_sentences"]
    est = max(2, math.ceil(lower_words / 8), lower_sent)
    candidates = [est + d for d in range(0, 14)] + [est - d for d in range(1, est + 1)]
    for offset in range(3):
        for n_fill in candidates:
            body = _assemble(spec, topic, n_fill, offset)
            if "two" in spec:
                body = body + "\n******\n" + _assemble(spec, topic, n_fill, offset, second=True)
            text = _finish(spec, body)
            s = _score(text, instruction_ids, kwargs)
            if s == total:
                return text
            if s > best_score:
                best, best_score = text, s
    return best


# --------------------------------------------------------------------------- generator


def _draw_kwargs(name: str, rng: random.Random, chosen: Sequence[str], topic: str) -> dict[str, Any]:
    relation = rng.choice(RELATIONS)
    if name == "existence":
        return {"keywords": rng.sample(KEYWORDS, rng.randint(1, 2))}
    if name == "frequency":
        return {"keyword": rng.choice(KEYWORDS), "frequency": rng.randint(1, 3), "relation": relation}
    if name == "forbidden":
        vocab = _words_of(_TEXTS["en"]["filler"] + [topic, _TEXTS["en"]["title"], _TEXTS["en"]["mention"]])
        allowed = [w for w in KEYWORDS if w not in vocab]
        return {"forbidden_words": rng.sample(allowed, 2)}
    if name == "letter":
        letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
        if relation == "less than":
            return {"letter": letter, "let_frequency": rng.randint(3, 12), "let_relation": relation}
        return {"letter": letter, "let_frequency": rng.randint(1, 10), "let_relation": relation}
    if name == "language":
        return {"language": rng.choice(GENERATOR_LANGUAGES)}
    if name == "sentences":
        if relation == "less than":
            return {"num_sentences": rng.randint(6, 20), "relation": relation}
        return {"num_sentences": rng.randint(1, 20), "relation": relation}
    if name == "paragraphs":
        return {"num_paragraphs": rng.randint(1, 5)}
    if name == "words":
        return {"num_words": rng.randint(100, 500), "relation": relation}
    if name == "nth":
        n = rng.randint(1, 5)
        return {"num_paragraphs": n, "nth_paragraph": rng.randint(1, n), "first_word": rng.choice(KEYWORDS)}
    if name == "placeholders":
        return {"num_placeholders": rng.randint(1, 4)}
    if name == "postscript":
        return {"postscript_marker": rng.choice(POSTSCRIPT_MARKERS)}
    if name == "bullets":
        return {"num_bullets": rng.randint(1, 5)}
    if name == "highlights":
        return {"num_highlights": rng.randint(1, 4)}
    if name == "sections":
        spliter = "SECTION" if _ID["upper"] in chosen else rng.choice(SECTION_SPLITTERS)
        return {"section_spliter": spliter, "num_sections": rng.randint(1, 5)}
    if name == "end":
        return {"end_phrase": rng.choice(END_PHRASES)}
    if name == "capital_words":
        if relation == "less than":
            return {"capital_frequency": rng.randint(2, 20), "capital_relation": relation}
        return {"capital_frequency": rng.randint(1, 20), "capital_relation": relation}
    return {}  # constrained, json, title, two, repeat (filled in later), quotation, upper, lower, no_comma


def _draw_ids(rng: random.Random) -> list[str]:
    k = rng.choices(range(1, MAX_INSTRUCTIONS + 1), weights=(3, 4, 3, 2))[0]
    chosen: list[str] = []
    for _ in range(k):
        options = [
            i
            for i in INSTRUCTION_IDS
            if all(i not in CONFLICTS[c] for c in chosen) and all(frozenset({i, c}) not in _UNSATISFIABLE for c in chosen)
        ]
        if not options:
            break
        chosen.append(rng.choice(options))
    return chosen


def _build(rng: random.Random, ids: list[str], task: str, topic: str) -> dict[str, Any]:
    names = {v: k for k, v in _ID.items()}
    kwargs = [_draw_kwargs(names[i], rng, ids, topic) for i in ids]
    described = [describe_instruction(i, kw) for i, kw in zip(ids, kwargs) if i != _ID["repeat"]]
    request = " ".join([task] + described)
    if _ID["repeat"] in ids:
        kwargs[ids.index(_ID["repeat"])] = {"prompt_to_repeat": request}
        prompt = request + " " + describe_instruction(_ID["repeat"], {})
    else:
        prompt = request
    return {"instruction_id_list": ids, "kwargs": kwargs, "prompt": prompt}


def generate_problem(rng: random.Random, split: str = "train") -> dict[str, Any]:
    """One built-in problem: ``{"prompt", "answer", "metadata"}``.

    ``answer`` is ``{"instruction_id_list", "kwargs", "prompt"}``. Arguments whose
    reference response would not score 1.0 are redrawn (a handful of tries), so every
    problem is solvable and :func:`respond` solves it.
    """
    task_template = rng.choice(TASKS)
    topic = rng.choice(TOPICS)
    task = task_template.format(topic=topic)
    answer: dict[str, Any] | None = None
    for _ in range(12):
        ids = _draw_ids(rng)
        candidate = _build(rng, ids, task, topic)
        text = respond(candidate["instruction_id_list"], candidate["kwargs"], topic)
        if _score(text, candidate["instruction_id_list"], candidate["kwargs"]) == len(ids):
            answer = candidate
            break
    if answer is None:  # always solvable
        answer = _build(rng, [_ID["title"]], task, topic)
    language = next(
        (kw["language"] for i, kw in zip(answer["instruction_id_list"], answer["kwargs"]) if i == _ID["language"]),
        "en",
    )
    return {
        "prompt": answer["prompt"],
        "answer": answer,
        "metadata": {"topic": topic, "task": task, "split": split, "language": language},
    }
