"""
Rule-based proposals from a report's paragraphs: speakers, attributed spans, themes, byline.

Nothing here touches the database. ``propose(paragraphs)`` returns plain dataclasses that
``curation.services`` stores for review; ``bench/curation.py`` scores them against curated data.

Chinese prose (Traditional or Simplified) introduces a speaker as institution + role + name,
then a speech verb (中國科學技術發展戰略研究院黨委書記劉冬梅認為，……); English prose as
"Name, role of Institution, said …". The attributed span runs from after the verb (or the name,
when no verb follows) to the end of the sentence. Later sentences of the same paragraph stay
with that speaker: ones opening with a speech verb (or he/she + verb) as paraphrase, the rest as
the rapporteur's summary; a sentence before the introduction that opens with the speaker's
institution (比鄰星作為……) is the rapporteur's account of that organisation. Text inside
quotation marks right after a speech verb is verbatim; short quoted phrases are key phrases.
"""

import re
from dataclasses import dataclass, field
from functools import cache

import opencc
from django.utils.translation import gettext_noop

CJK = "\u3400-\u9fff\uf900-\ufaff"
HAN = f"[{CJK}]"


@cache
def _converters():
    return opencc.OpenCC("t2s.json"), opencc.OpenCC("s2t.json")


def both_scripts(words):
    """Return ``words`` plus their Simplified and Traditional forms, longest first."""
    t2s, s2t = _converters()
    out = set()
    for word in words:
        out |= {word, t2s.convert(word), s2t.convert(word)}
    return sorted(out, key=len, reverse=True)


def _alt(words):
    return "|".join(re.escape(w) for w in both_scripts(words))


SPEECH_VERBS = [
    "認為", "強調", "介紹", "指出", "提醒", "呼籲", "發現", "表示", "談到", "提出", "建議",
    "坦言", "直言", "透露", "分析", "主張", "提到", "補充", "總結", "相信", "警告", "解釋",
    "回應", "說道", "說", "稱", "表明", "闡述", "分享", "判斷", "預測", "觀察到", "倡議", "寄語",
    "呼吁", "並指出",
]  # fmt: skip
ROLE_TERMS = [
    "書記", "校長", "主席", "董事長", "執行官", "CEO", "CTO", "COO", "CFO", "主任", "秘書長",
    "總經理", "經理", "合伙人", "合夥人", "創始人", "創辦人", "研究員", "教授", "院長", "所長",
    "部長", "局長", "司長", "處長", "廳長", "總裁", "理事長", "會長", "院士", "總監", "負責人",
    "董事", "總工程師", "工程師", "行長", "市長", "省長", "區長", "委員", "主編", "總編輯",
    "專家", "經濟學家", "科學家", "分析師", "大使", "參贊", "顧問", "總領事", "常委", "講師",
    "主管", "社長", "總幹事", "幹事", "主持人", "代表", "首席", "博士", "學者", "助理", "副教授",
    "執行長", "醫師", "研究生", "博士生", "博士後",
]  # fmt: skip
ROLE_PREFIXES = [
    "常務", "執行", "首席", "聯合", "名譽", "榮譽", "高級", "資深", "特聘", "黨委", "黨組", "副",
    "總", "代理", "助理", "兼職",
]  # fmt: skip
ORG_SUFFIXES = [
    "研究院", "研究所", "大學", "學院", "公司", "集團", "中心", "委員會", "聯合會", "協會",
    "學會", "基金會", "銀行", "辦公室", "管理局", "局", "部", "署", "院", "所", "廳", "會",
    "創投", "資本", "基金", "實驗室", "園區", "政府", "組織", "聯盟", "科學城", "醫院", "學校",
    "Inc.", "Ltd", "Group",
]  # fmt: skip
DEPARTMENT_SUFFIXES = [
    "研究室", "實驗室", "研究所", "研究部", "研究局", "學院", "中心", "系", "處", "科室", "局",
    "司", "部",
]  # fmt: skip
CONNECTORS = [
    "同時", "此外", "另外", "其中", "對此", "會上", "論壇上", "隨後", "最後", "首先", "而", "並",
    "據", "由", "本文由", "作為", "來自",
]  # fmt: skip
ADVERBS = ["也", "還", "則", "更", "進一步", "同時", "特別", "再次", "亦", "並", "又", "曾", "最後"]
NAME_FOLLOWERS = [
    *SPEECH_VERBS, "以", "在", "基于", "基於", "從", "就", "對", "也", "還", "則", "更", "通過",
    "結合", "圍繞", "針對", "用", "將", "把", "向", "與", "和", "等", "為", "作", "於", "于",
    "曾", "已", "首先", "同時", "進一步", "執筆", "撰寫", "撰稿", "整理", "帶來", "發表", "做",
    "作了", "分別", "均", "都", "看來",
]  # fmt: skip
NOT_NAMES = set(
    both_scripts([*ADVERBS, *CONNECTORS, "最後", "隨後", "接著", "先生", "女士", "表示"])
)
LOOKS = ("看來", "看来")  # 在某某看來，……
SUMMARY_OPENERS = ["因此", "所以", "同時", "此外", "另外", "總之", "綜上", "由此", "可見", "對此"]
GENERIC_ORG_WORDS = both_scripts(
    ["中國", "上海", "北京", "深圳", "國家", "科技", "創新", "研究", "大學", "科學", "技術",
     "產業", "國際", "發展", "全球", "我國", "企業", "政府", "市場"]
)  # fmt: skip
QUESTION_CUES = _alt(["圍繞", "聚焦", "就"])
QUESTION_NOUNS = _alt(["議題", "問題", "主題", "話題"])

VERB_RE = _alt(SPEECH_VERBS)
# 圍繞“誰來融合、融合什么、如何融合”等核心議題 / 围绕“A、B、C”三个问题
QUESTIONS_RE = re.compile(
    rf"(?:{QUESTION_CUES})[“「\"]([^”」\"]+)[”」\"][^，,。；;“「]{{0,6}}?(?:{QUESTION_NOUNS})"
)
ROLE_RE = re.compile(
    rf"(?:(?:{_alt(ROLE_PREFIXES)})*(?:{_alt(ROLE_TERMS)}))"
    rf"(?:(?:(?:、|兼|和|及|暨|/){HAN}{{0,4}}?)?(?:(?:{_alt(ROLE_PREFIXES)})*(?:{_alt(ROLE_TERMS)})))*"
)
FOLLOWER_RE = re.compile(rf"(?:{_alt(NAME_FOLLOWERS)}|[，,：:。;；(（“「])")
FOREIGN_NAME_RE = re.compile(
    rf"{HAN}{{1,6}}(?:[·・‧•]{HAN}{{1,8}})+(?:\s*[(（](?P<latin>[A-Za-z][A-Za-z .'’-]+)[)）])?"
)
ORG_RE = re.compile(rf"^[A-Za-z0-9{CJK}]{{2,30}}?(?:{_alt(ORG_SUFFIXES)})")
DEPT_RE = re.compile(rf"(?:{HAN}{{1,8}}?(?:{_alt(DEPARTMENT_SUFFIXES)}))$")
ORG_END_RE = re.compile(rf"(?:{_alt(ORG_SUFFIXES)})$")
CONNECTOR_RE = re.compile(rf"^(?:{_alt(CONNECTORS)})[，,]?")
ADVERB_RE = re.compile(rf"(?:{_alt(ADVERBS)})*")
SPEECH_RE = re.compile(rf"(?:{VERB_RE})(?:道|稱)?(?:[，,：:]\s*)?")
PRONOUN_VERB_RE = re.compile(
    rf"^(?:{_alt(['他', '她', '其', '該負責人', '他們', '她們'])})?(?:{_alt(ADVERBS)})*"
    rf"(?:{VERB_RE})(?:道)?(?:[，,：:]\s*)?"
)
SUMMARY_OPENER_RE = re.compile(rf"^(?:{_alt(SUMMARY_OPENERS)})[，,]\s*")
BYLINE_RE = re.compile(
    rf"^[（(]?(?:本文由|文\s*[/／|｜:：]|作者\s*[:：]|作者(?:系|為|为|是)|執筆\s*[:：]|执笔\s*[:：]|"
    rf"撰稿\s*[:：])"
    rf"(?P<who>[^。）)]+?)(?:{_alt(['執筆', '撰寫', '撰稿', '整理'])})?(?:[。.）)]|$)"
)
QUOTE_PAIRS = {"“": "”", "「": "」", "『": "』", '"': '"', "‘": "’"}
KEY_PHRASE_RE = re.compile(r"“([^“”]{1,24})”|「([^「」]{1,24})」|\"([^\"]{1,40})\"")
THEME_NUMBER_RE = re.compile(
    r"^(?:#+\s*)?(?:[一二三四五六七八九十]+[、．.]|[（(][一二三四五六七八九十\d]+[）)]|"
    r"\d{1,2}\s*[.、．]|第[一二三四五六七八九十\d]+[部分章節节篇])\s*"
)
OUTLOOK_RE = re.compile(
    r"展望|結語|结语|結束語|结束语|Outlook|Looking ahead|Conclusions?|Next steps", re.I
)
TASK_RE = re.compile(r"(?:^|[：:；;，,。])\s*([一二三四五六七八九十])是([^；;。]+)")

# English
EN_NAME = r"(?:(?:Dr|Prof|Professor|Mr|Ms|Mrs)\.?\s)?[A-Z][a-zà-ÿ'’-]+(?:\s[A-Z][a-zà-ÿ'’-]+){1,3}"
EN_VERBS = (
    r"said|says|argued|argues|noted|notes|stressed|stresses|warned|warns|explained|explains|"
    r"observed|observes|pointed out|points out|told|added|adds|emphasised|emphasized|urged|"
    r"urges|suggested|suggests|believes|believed|cautioned|contended|maintained|insisted|"
    r"described|called for|proposed|recalled|reported|found|concluded|remarked|announced"
)
EN_INTRO_RE = re.compile(
    rf"(?P<name>{EN_NAME}),\s(?P<role>[^,;“”\"]{{3,140}}?),\s(?:also\s|further\s)?"
    rf"(?P<verb>{EN_VERBS})\b(?:\sthat)?[,:]?\s*"
)
EN_KNOWN_RE_TEMPLATE = r"(?:{names})\s(?:also\s|further\s|then\s)?(?:{verbs})\b(?:\sthat)?[,:]?\s*"
EN_PRONOUN_RE = re.compile(
    rf"^(?:She|He|They)\s(?:also\s|further\s|then\s)?(?:{EN_VERBS})\b(?:\sthat)?[,:]?\s*"
)
EN_ACCORDING_RE = re.compile(
    rf"^According to (?P<name>{EN_NAME}),\s(?P<role>[^,;“”\"]{{3,140}}?),\s*"
)
EN_SAID_NAME_RE = re.compile(
    rf"^[“\"](?P<quote>[^”\"]+?)[,.!?]?[”\"],?\s(?:{EN_VERBS})\s(?P<name>{EN_NAME}),"
    rf"\s(?P<role>[^,;“”\"]{{3,140}}?)\.?$"
)
EN_QUOTE_AFTER_RE = re.compile(
    rf"^[“\"](?P<quote>.+?)[,.]?[”\"],?\s(?P<who>.+?)\s(?:{EN_VERBS})\.?$"
)
EN_OPENERS_RE = re.compile(
    r"^(?:Therefore|Thus|So|In addition|Moreover|Meanwhile|Hence|As a result),\s*"
)


@dataclass
class SpeakerGuess:
    key: str
    name: str
    name_en: str = ""
    role: str = ""
    institution: str = ""
    as_printed: str = ""
    capacity: str = "speaker"
    paragraph: int = 0
    confidence: float = 0.5


@dataclass
class SpanGuess:
    speaker: str  # SpeakerGuess.key
    paragraph: int  # 1-based locator
    start: int
    end: int
    text: str
    fidelity: str
    fidelity_confidence: float
    confidence: float
    key_phrases: list = field(default_factory=list)
    note: str = ""


@dataclass
class ThemeGuess:
    title: str
    paragraph: int
    kind: str = "finding"
    parent: int | None = None  # index in the themes list


@dataclass
class Proposals:
    speakers: list = field(default_factory=list)
    spans: list = field(default_factory=list)
    themes: list = field(default_factory=list)
    questions: list = field(default_factory=list)
    byline: str = ""

    def speaker(self, key):
        return next((s for s in self.speakers if s.key == key), None)


def speaker_key(name):
    from proceedings.interchange.merging import name_key

    return name_key(re.sub(r"\s*[(（].*?[)）]\s*", "", name))


# ---------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------

CJK_ENDS = "。！？；!?;"


def sentences(text):
    """Return ``(start, end)`` of each sentence (``end`` after its final punctuation).

    Quotation marks are respected: a full stop inside “…” or 「…」 does not end the sentence.
    """
    out, start, depth, i = [], 0, [], 0
    latin = not re.search(HAN, text)
    while i < len(text):
        ch = text[i]
        if depth and ch == depth[-1]:
            depth.pop()
            # 「……。」 closes a sentence of its own (an attribution may follow as the next one).
            if not depth and i and text[i - 1] in "。！？!?" and not latin:
                end = i + 1
                out.append((start, end))
                start, i = end, end
                continue
        elif ch in QUOTE_PAIRS and not (ch == '"' and depth and depth[-1] == '"'):
            if ch == '"' and latin and depth:
                pass
            else:
                depth.append(QUOTE_PAIRS[ch])
        elif not depth and (
            ch in CJK_ENDS
            or (ch == "." and (i + 1 == len(text) or text[i + 1] == " ") and not _abbrev(text, i))
        ):
            end = i + 1
            while end < len(text) and text[end] in '”」』"’)）':
                end += 1
            out.append((start, end))
            while end < len(text) and text[end] == " ":
                end += 1
            start, i = end, end
            continue
        i += 1
    if start < len(text) and text[start:].strip():
        out.append((start, len(text)))
    return out


def _abbrev(text, i):
    word = re.search(r"[A-Za-z.]*$", text[max(0, i - 5) : i + 1]).group(0)
    return word in {
        "Dr.",
        "Mr.",
        "Ms.",
        "Mrs.",
        "Prof.",
        "St.",
        "No.",
        "Co.",
        "U.S.",
        "e.g.",
        "i.e.",
    }


def _trim_end(text, start, end):
    while end > start and text[end - 1] in "。！？；!?;.，, ":
        end -= 1
    while start < end and text[start] in " ，,：:":
        start += 1
    return start, end


def key_phrases(text):
    return [next(g for g in m.groups() if g) for m in KEY_PHRASE_RE.finditer(text)]


def _quoted_span(text, start, end):
    """If text[start:end] is (almost) all one quotation, return the span inside the marks."""
    s, e = _trim_end(text, start, end)
    if s < e and text[s] in QUOTE_PAIRS:
        close = text.find(QUOTE_PAIRS[text[s]], s + 1)
        if close != -1 and close >= e - 2 and close - s > 4:
            return s + 1, close
    return None


# ---------------------------------------------------------------------------------------------
# Chinese
# ---------------------------------------------------------------------------------------------


def _name_at(text, pos):
    """Return ``(name, latin, end)`` of a person's name starting at ``pos``, or None."""
    m = FOREIGN_NAME_RE.match(text, pos)
    if m:
        name = re.sub(r"\s*[(（].*$", "", m.group(0))
        return name, (m.group("latin") or "").strip(), m.end()
    for length in (2, 3, 4):
        chunk = text[pos : pos + length]
        if len(chunk) < length or not re.fullmatch(f"{HAN}+", chunk):
            return None
        if FOLLOWER_RE.match(text, pos + length) or pos + length == len(text):
            if length == 2 and ROLE_RE.match(chunk):
                return None
            return chunk, "", pos + length
    return None


def _split_institution(before):
    """Split the text before a role into (institution, department) as printed."""
    before = CONNECTOR_RE.sub("", before)
    before = CONNECTOR_RE.sub("", before)
    # A unit of a larger body (研究所 of an academy, 學院 of a university) belongs to the role,
    # as the curated data has it: the institution is the body the unit is part of.
    if DEPT_RE.search(before):
        for cut in range(len(before) - 3, 2, -1):
            rest, tail = before[:cut], before[cut:]
            if ORG_END_RE.search(rest) and DEPT_RE.fullmatch(tail):
                return rest, tail
    return before, ""


def _intro_at(sentence_text, offset_role):
    """Parse an introduction whose role match is ``offset_role`` (a regex match)."""
    name = _name_at(sentence_text, offset_role.end())
    if (
        not name
        or FOLLOWER_RE.match(name[0])
        or name[0][:1] in "的是了在這这那該该其每各本我"
        or name[0] in NOT_NAMES
    ):
        return None
    clause_start = max(
        (sentence_text.rfind(ch, 0, offset_role.start()) for ch in "，,。；;：:”」)）(（“「 "),
        default=-1,
    )
    before = sentence_text[clause_start + 1 : offset_role.start()]
    if before.endswith(("的", "位", "名", "些", "與會", "与会")):
        return None  # "來自……的專家": a description, not an institution
    institution, dept = _split_institution(before)
    role = dept + offset_role.group(0)
    printed_start = offset_role.start() - len(institution) - len(dept)
    confidence = 0.9
    if not institution:
        head = ORG_RE.match(CONNECTOR_RE.sub("", sentence_text))
        institution = head.group(0) if head else ""
        confidence = 0.7 if head else 0.6
    elif not ORG_END_RE.search(institution):
        confidence = 0.75
    return {
        "name": name[0],
        "latin": name[1],
        "name_end": name[2],
        "role": role,
        "institution": institution,
        "as_printed": sentence_text[printed_start : offset_role.end()],
        "start": printed_start,
        "confidence": confidence,
    }


def _org_mention(sentence_text, institution):
    """Return whether a sentence opens with (part of) the speaker's institution's name."""
    head = CONNECTOR_RE.sub("", sentence_text)
    if not institution:
        return False
    best = 0
    for length in range(2, min(len(head), len(institution)) + 1):
        if head[:length] in institution:
            best = length
        else:
            break
    if best < 2 or head[:best] in GENERIC_ORG_WORDS:
        return False
    return best >= 3 or bool(re.match(HAN, head[:1]))


def _after_speech(text, pos, end):
    """Skip adverbs and a speech verb at ``pos``; return (span start, had verb)."""
    m = ADVERB_RE.match(text, pos)
    p = m.end() if m else pos
    verb = SPEECH_RE.match(text, p)
    if verb:
        return verb.end(), True
    return pos, False


class _Builder:
    def __init__(self):
        self.result = Proposals()
        self.known = {}  # name -> key

    def add_speaker(self, intro, paragraph, capacity="speaker"):
        key = speaker_key(intro["name"])
        if key not in {s.key for s in self.result.speakers}:
            self.result.speakers.append(
                SpeakerGuess(
                    key=key,
                    name=intro["name"],
                    name_en=intro.get("latin", ""),
                    role=intro["role"],
                    institution=intro["institution"],
                    as_printed=intro["as_printed"],
                    capacity=capacity,
                    paragraph=paragraph,
                    confidence=intro["confidence"],
                )
            )
        else:
            guess = self.result.speaker(key)
            if capacity == "speaker" and guess.capacity == "rapporteur":
                guess.capacity = "speaker"
        self.known[intro["name"]] = key
        return key

    def add_span(self, key, paragraph, text, start, end, fidelity, fconf, conf, note):
        start, end = _trim_end(text, start, end)
        if end - start < 2:
            return
        span_text = text[start:end]
        self.result.spans.append(
            SpanGuess(
                speaker=key,
                paragraph=paragraph,
                start=start,
                end=end,
                text=span_text,
                fidelity=fidelity,
                fidelity_confidence=fconf,
                confidence=conf,
                key_phrases=key_phrases(span_text) if fidelity != "verbatim" else [],
                note=note,
            )
        )

    def speech_span(self, key, number, text, start, end, conf, note):
        """Add what follows a speech verb: a quotation (verbatim) or reported speech."""
        quoted = _quoted_span(text, start, end)
        if quoted:
            self.add_span(key, number, text, *quoted, "verbatim", 0.85, conf, note)
        else:
            self.add_span(key, number, text, start, end, "paraphrase", 0.7, conf, note)


def _find_intros(text, s, e):
    sentence_text = text[s:e]
    intros = []
    for m in ROLE_RE.finditer(sentence_text):
        intro = _intro_at(sentence_text, m)
        if intro and not any(i["name_end"] > m.start() for i in intros):
            intros.append(intro)
    return intros


def _known_mention(builder, sentence_text):
    """Return (name, end) of a known speaker named at the head of a clause, followed by a verb."""
    for name in sorted(builder.known, key=len, reverse=True):
        for m in re.finditer(re.escape(name), sentence_text):
            before = sentence_text[: m.start()]
            if before and not re.search(r"(?:[，,。；;：:]|在|據|据|同時|同时)$", before):
                continue
            after = ADVERB_RE.match(sentence_text, m.end()).end()
            if SPEECH_RE.match(sentence_text, after) or sentence_text.startswith(LOOKS, after):
                return name, m.end()
    return None


def _chinese_paragraph(builder, number, text, *, heading):
    if heading:
        return
    spans = sentences(text)
    current = None  # key of the speaker the paragraph is on
    pending = []  # sentences before the first introduction
    previous = this = None
    for s, e in spans:
        sentence_text = text[s:e]
        previous, this = this, (s, e)
        byline = BYLINE_RE.match(sentence_text)
        if byline:
            who = byline.group("who")
            for m in ROLE_RE.finditer(who):
                intro = _intro_at(who, m)
                if intro:
                    builder.add_speaker(intro, number, capacity="rapporteur")
                    builder.result.byline = sentence_text.strip()
                    break
            continue
        intros = _find_intros(text, s, e)
        if intros:
            for index, intro in enumerate(intros):
                key = builder.add_speaker(intro, number)
                stop = intros[index + 1]["start"] if index + 1 < len(intros) else len(sentence_text)
                begin, had_verb = _after_speech(sentence_text, intro["name_end"], stop)
                if sentence_text.startswith("(", begin) or sentence_text.startswith("（", begin):
                    begin = sentence_text.find(")", begin) + 1 or begin
                    begin, had_verb = _after_speech(sentence_text, begin, stop)
                # A quotation before the introduction ("……，”X說) is what they said.
                quote_before = _quoted_span(sentence_text, 0, intro["start"])
                if previous and begin >= stop - 2 and _quoted_span(text, *previous):
                    # 「……。」X說。: the previous sentence, a quotation, is theirs.
                    builder.result.spans = [
                        g for g in builder.result.spans
                        if not (g.paragraph == number and previous[0] <= g.start < previous[1])
                    ]  # fmt: skip
                    pending = [p for p in pending if p != previous]
                    builder.add_span(
                        key, number, text, *_quoted_span(text, *previous), "verbatim", 0.8, 0.8,
                        gettext_noop("quotation before the attribution"),
                    )  # fmt: skip
                elif quote_before and begin >= stop - 2:
                    builder.add_span(
                        key, number, text, s + quote_before[0], s + quote_before[1],
                        "verbatim", 0.8, 0.8, gettext_noop("quotation before the attribution"),
                    )  # fmt: skip
                else:
                    confidence = intro["confidence"] if had_verb else intro["confidence"] - 0.2
                    builder.speech_span(
                        key, number, text, s + begin, s + stop, confidence,
                        gettext_noop("introduced with role") if had_verb
                        else gettext_noop("introduced, no speech verb"),
                    )  # fmt: skip
                for ps, pe in pending:
                    if _org_mention(text[ps:pe], intro["institution"]):
                        builder.add_span(
                            key, number, text, ps, pe, "summary", 0.6, 0.5,
                            gettext_noop("the report describes the speaker's organisation"),
                        )  # fmt: skip
                pending = []
                current = key
            continue
        known = _known_mention(builder, sentence_text)
        if known:
            current = builder.known[known[0]]
            begin, _had = _after_speech(sentence_text, known[1], len(sentence_text))
            if sentence_text.startswith(LOOKS, begin):
                begin += 2
            builder.speech_span(
                current, number, text, s + begin, e, 0.75, gettext_noop("named again")
            )
            continue
        if current is None:
            pending.append((s, e))
            continue
        pronoun = PRONOUN_VERB_RE.match(sentence_text)
        if pronoun:
            builder.speech_span(
                current, number, text, s + pronoun.end(), e, 0.7, gettext_noop("continues")
            )
            continue
        quoted = _quoted_span(text, s, e)
        if quoted:
            builder.add_span(
                current, number, text, *quoted, "verbatim", 0.6, 0.5, gettext_noop("quotation")
            )
            continue
        opener = SUMMARY_OPENER_RE.match(sentence_text)
        begin = s + (opener.end() if opener else 0)
        builder.add_span(
            current, number, text, begin, e, "summary", 0.55, 0.5,
            gettext_noop("follows in the same paragraph"),
        )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# English
# ---------------------------------------------------------------------------------------------


def _english_intro(match):
    name = re.sub(r"^(?:Dr|Prof|Professor|Mr|Ms|Mrs)\.?\s", "", match.group("name"))
    printed = match.group("role").strip()
    role, institution = printed, ""
    # The institution is the first capitalised name after "of"/"at"/…: "professor of coastal
    # engineering at Delft University of Technology".
    for split in re.finditer(r"\s(?:of|at|for|from|with)\s(?:the\s)?(?=[A-Z])", printed):
        role, institution = printed[: split.start()], printed[split.end() :]
        break
    return {
        "name": name,
        "latin": name,
        "role": role,
        "institution": institution,
        "as_printed": printed,
        "confidence": 0.85 if institution else 0.65,
    }


def _english_paragraph(builder, number, text, *, heading):
    if heading:
        return
    current = None
    pending = []
    byline = re.match(
        r"^(?:Written by|Report by|By|Rapporteur:)\s(?P<name>[A-Z][\w'’-]+(?:\s[A-Z][\w'’-]+){1,3})"
        r",\s(?P<role>[^.]+?)\.?$",
        text,
    )
    if byline:
        fake = re.match(
            rf"(?P<name>{EN_NAME}),\s(?P<role>.+)", f"{byline['name']}, {byline['role']}"
        )
        intro = _english_intro(fake)
        builder.add_speaker(intro, number, capacity="rapporteur")
        builder.result.byline = text
        return
    for s, e in sentences(text):
        sentence_text = text[s:e]
        said = EN_SAID_NAME_RE.match(sentence_text)
        if said:
            # “…,” said Name, role at Institution.
            intro = _english_intro(said)
            current = builder.add_speaker(intro, number)
            builder.add_span(
                current, number, text, s + said.start("quote"), s + said.end("quote"),
                "verbatim", 0.85, intro["confidence"],
                gettext_noop("quotation before the attribution"),
            )  # fmt: skip
            pending = []
            continue
        intro_match = EN_INTRO_RE.search(sentence_text) or EN_ACCORDING_RE.match(sentence_text)
        quote_after = EN_QUOTE_AFTER_RE.match(sentence_text)
        if intro_match:
            intro = _english_intro(intro_match)
            key = builder.add_speaker(intro, number)
            lead = sentence_text[: intro_match.start()]
            quote_before = _quoted_span(sentence_text, 0, len(lead)) if lead.strip() else None
            if quote_before:
                builder.add_span(
                    key, number, text, s + quote_before[0], s + quote_before[1], "verbatim",
                    0.8, 0.8, gettext_noop("quotation before the attribution"),
                )  # fmt: skip
            else:
                builder.speech_span(
                    key, number, text, s + intro_match.end(), e, intro["confidence"],
                    gettext_noop("introduced with role"),
                )  # fmt: skip
            for ps, pe in pending:
                if intro["institution"] and text[ps:pe].startswith(intro["institution"]):
                    builder.add_span(
                        key, number, text, ps, pe, "summary", 0.6, 0.5,
                        gettext_noop("the report describes the speaker's organisation"),
                    )  # fmt: skip
            pending, current = [], key
            continue
        names = "|".join(
            re.escape(n.split()[-1]) + "|" + re.escape(n) for n in builder.known if " " in n
        )
        known = (
            re.search(EN_KNOWN_RE_TEMPLATE.format(names=names, verbs=EN_VERBS), sentence_text)
            if names
            else None
        )
        if quote_after and names and re.search(names, quote_after.group("who")):
            who = next(n for n in builder.known if n.split()[-1] in quote_after.group("who"))
            current = builder.known[who]
            builder.add_span(
                current, number, text, s + 1, s + 1 + len(quote_after.group("quote")),
                "verbatim", 0.8, 0.75, gettext_noop("quotation before the attribution"),
            )  # fmt: skip
            continue
        if known and known.start() < 3:
            who = next(
                n for n in builder.known if n in known.group(0) or n.split()[-1] in known.group(0)
            )
            current = builder.known[who]
            builder.speech_span(
                current, number, text, s + known.end(), e, 0.75, gettext_noop("named again")
            )
            continue
        if current is None:
            pending.append((s, e))
            continue
        pronoun = EN_PRONOUN_RE.match(sentence_text)
        if pronoun:
            builder.speech_span(
                current, number, text, s + pronoun.end(), e, 0.7, gettext_noop("continues")
            )
            continue
        opener = EN_OPENERS_RE.match(sentence_text)
        begin = s + (opener.end() if opener else 0)
        builder.add_span(
            current, number, text, begin, e, "summary", 0.55, 0.5,
            gettext_noop("follows in the same paragraph"),
        )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------------------------


def _structure(result, paragraphs, headings):
    heading_set = set(headings)
    outlook = None
    for index, text in enumerate(paragraphs):
        number = index + 1
        short = len(text) <= 20 and not text.endswith(tuple("。.！？!?，,；;"))
        numbered = THEME_NUMBER_RE.match(text)
        if (index in heading_set or short) and OUTLOOK_RE.search(text):
            title = text[numbered.end() :].strip() if numbered else text
            result.themes.append(ThemeGuess(title=title, paragraph=number, kind="outlook"))
            outlook = len(result.themes) - 1
            continue
        if numbered and (index in heading_set or short or len(text) <= 60):
            title = text[numbered.end() :].strip()
            if title:
                result.themes.append(ThemeGuess(title=title, paragraph=number))
            continue
        if index in heading_set and index > 0:
            # An unnumbered section heading (Markdown ##, a DOCX Heading style); the first
            # paragraph is the report's own title.
            result.themes.append(ThemeGuess(title=text, paragraph=number))
            continue
        if outlook is not None and index not in heading_set:
            for m in TASK_RE.finditer(text):
                result.themes.append(
                    ThemeGuess(
                        title=m.group(2).strip(), paragraph=number, kind="task", parent=outlook
                    )
                )
        for m in QUESTIONS_RE.finditer(text):
            items = [q.strip() for q in re.split(r"[、，,]", m.group(1)) if q.strip()]
            result.questions += [q for q in items if q not in result.questions]
        m = re.search(r"(?:questions?|issues?)[^.:]*:\s*([^.]+\?)", text)
        if m:
            items = [q.strip(" ,") for q in re.split(r"\?\s*(?:and\s)?", m.group(1)) if q.strip()]
            result.questions += [f"{q}?" for q in items if f"{q}?" not in result.questions]


def propose(paragraphs, headings=()):
    """Return ``Proposals`` for ``paragraphs`` (``headings``: 0-based indices of headings)."""
    builder = _Builder()
    heading_set = set(headings)
    for index, text in enumerate(paragraphs):
        heading = index in heading_set or bool(THEME_NUMBER_RE.match(text) and len(text) <= 60)
        if re.search(HAN, text):
            _chinese_paragraph(builder, index + 1, text, heading=heading)
        else:
            _english_paragraph(builder, index + 1, text, heading=heading)
    _structure(builder.result, paragraphs, headings)
    return builder.result
