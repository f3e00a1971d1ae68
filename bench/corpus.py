"""
A synthetic corpus of forum positions: policy prose in Traditional Chinese with English.

Deterministic for a seed. Each position is 1–5 sentences drawn from paired Chinese/English
templates with slots (cities, industries, organisations, made-up company names, figures); about
8% are English only and about 10% of the Chinese ones carry an English sentence; the translation
is the English of the same sentences. Speakers, institutions, themes and tags come from pools
sized with the corpus. Some words are placed deliberately so that the benchmark's queries have
known properties: ``晶片`` never occurs (the text says ``芯片``), ``力量`` and ``量子`` occur
next to each other only across a full stop (``力量子`` must find nothing), ``集成電路`` is rare.

Each forum also gets a report (``report()``): a source document of ``REPORT_PARAGRAPHS``
paragraphs of the same prose, separated by blank lines, in which ``出題人、答題人、閱卷人`` occurs
in one paragraph in ``REPORT_RARE_EVERY`` reports.
"""

import random

CITIES = [
    ("上海", "Shanghai"),
    ("北京", "Beijing"),
    ("深圳", "Shenzhen"),
    ("杭州", "Hangzhou"),
    ("廣州", "Guangzhou"),
    ("南京", "Nanjing"),
    ("武漢", "Wuhan"),
    ("成都", "Chengdu"),
    ("西安", "Xi'an"),
    ("合肥", "Hefei"),
    ("蘇州", "Suzhou"),
    ("天津", "Tianjin"),
    ("重慶", "Chongqing"),
    ("廈門", "Xiamen"),
    ("青島", "Qingdao"),
    ("長沙", "Changsha"),
    ("鄭州", "Zhengzhou"),
    ("濟南", "Jinan"),
    ("無錫", "Wuxi"),
    ("寧波", "Ningbo"),
    ("香港", "Hong Kong"),
    ("澳門", "Macao"),
    ("臺北", "Taipei"),
    ("新竹", "Hsinchu"),
    ("東莞", "Dongguan"),
    ("佛山", "Foshan"),
    ("大連", "Dalian"),
    ("瀋陽", "Shenyang"),
    ("哈爾濱", "Harbin"),
    ("昆明", "Kunming"),
    ("貴陽", "Guiyang"),
    ("南昌", "Nanchang"),
    ("福州", "Fuzhou"),
    ("石家莊", "Shijiazhuang"),
    ("太原", "Taiyuan"),
    ("蘭州", "Lanzhou"),
    ("烏魯木齊", "Urumqi"),
    ("呼和浩特", "Hohhot"),
    ("南寧", "Nanning"),
    ("海口", "Haikou"),
]
INDUSTRIES = [
    ("人工智能", "artificial intelligence"),
    ("生物醫藥", "biomedicine"),
    ("新能源汽車", "new-energy vehicles"),
    ("芯片設計", "chip design"),
    ("量子計算", "quantum computing"),
    ("商業航天", "commercial spaceflight"),
    ("低空經濟", "the low-altitude economy"),
    ("高端裝備", "high-end equipment"),
    ("新材料", "new materials"),
    ("數字醫療", "digital health"),
    ("智能製造", "smart manufacturing"),
    ("光伏儲能", "solar power and storage"),
    ("工業軟件", "industrial software"),
    ("腦機接口", "brain-computer interfaces"),
    ("合成生物", "synthetic biology"),
    ("海洋工程", "marine engineering"),
    ("現代農業", "modern agriculture"),
    ("金融科技", "fintech"),
    ("機器人", "robotics"),
    ("氫能", "hydrogen energy"),
    ("6G通信", "6G communications"),
    ("網絡安全", "cybersecurity"),
    ("航空發動機", "aero engines"),
    ("基因治療", "gene therapy"),
    ("集成電路", "integrated circuits"),
]
ORGS = [
    ("科技部", "the Ministry of Science and Technology"),
    ("國家發展改革委", "the NDRC"),
    ("中國科學院", "the Chinese Academy of Sciences"),
    ("工業和信息化部", "the MIIT"),
    ("國家自然科學基金委員會", "the National Natural Science Foundation"),
    ("市科委", "the municipal science commission"),
    ("高新區管委會", "the high-tech zone committee"),
]
SENTENCES = [
    (
        "企業是科技創新的主體,{city}的{industry}企業正在加快研發投入。",
        "Enterprises are the principal actors of innovation; {industry_en} enterprises in "
        "{city_en} are stepping up R&D investment.",
    ),
    (
        "推動科技創新和產業創新深度融合,是{city}建設現代化產業體系的關鍵。",
        "Deeply integrating scientific and industrial innovation is key to {city_en} building a "
        "modern industrial system.",
    ),
    (
        "成果轉化的最後一公里,往往卡在中試平臺和首臺套應用上。",
        "The last mile of translating research results is often stuck at pilot platforms and "
        "first-of-a-kind use.",
    ),
    (
        "耐心資本要敢於投早、投小、投長期、投硬科技。",
        "Patient capital must dare to invest early, in small firms, for the long term and in "
        "hard technology.",
    ),
    (
        "數據要素的自由流動,需要統一的確權、定價和交易規則。",
        "The free flow of data as a factor of production needs unified rules on ownership, pricing "
        "and trading.",
    ),
    (
        "加強知識產權保護,才能讓創新者獲得合理回報。",
        "Only stronger intellectual property protection lets innovators earn a fair return.",
    ),
    (
        "人才是第一資源,{city}今年引進{num}名青年科技人才。",
        "Talent is the primary resource: {city_en} brought in {num} young scientists this year.",
    ),
    (
        "{org}將設立{num}億元的專項基金,支持{industry}的基礎研究。",
        "{org_en} will set up a dedicated fund of {num}00 million yuan for basic research in "
        "{industry_en}.",
    ),
    (
        "{company}與高校共建聯合實驗室,聚焦{industry}的關鍵核心技術。",
        "{company_en} and universities are building joint laboratories on the core technologies of "
        "{industry_en}.",
    ),
    (
        "新型研發機構要打通從基礎研究到產業化的全鏈條。",
        "New-type R&D institutions must connect the whole chain from basic research to "
        "industrialisation.",
    ),
    (
        "{city}的創新生態,離不開政府、企業、高校和金融機構的協同。",
        "The innovation ecosystem of {city_en} depends on coordination between government, "
        "enterprises, universities and finance.",
    ),
    (
        "芯片和基礎軟件的自主可控,是產業安全的底線。",
        "Self-reliance in chips and basic software is the bottom line of industrial security.",
    ),
    (
        "科研評價要破除唯論文、唯帽子的傾向。",
        "Research evaluation must stop rewarding only papers and titles.",
    ),
    (
        "中小企業需要更便利的融資服務和應用場景。",
        "Small and medium-sized enterprises need easier access to financing and to application "
        "scenarios.",
    ),
    (
        "臺灣和大陸的{industry}產業鏈高度互補。",
        "The {industry_en} supply chains of Taiwan and the mainland complement each other closely.",
    ),
    (
        "台灣的半導體人才在{city}找到了新的創業機會。",
        "Semiconductor talent from Taiwan has found new start-up opportunities in {city_en}.",
    ),
    (
        "要發揮新型舉國體制優勢,集中力量攻克關鍵核心技術。",
        "The new whole-nation system should concentrate forces on breakthroughs in key core "
        "technologies.",
    ),
    (
        "量子信息和{industry}是未來產業的主戰場。",
        "Quantum information and {industry_en} are the main battlefields of future industries.",
    ),
    (
        "開放創新要求我們深度參與全球科技治理。",
        "Open innovation requires deep participation in global science and technology governance.",
    ),
    (
        "{company}的{industry}產品已經出口到{num}個國家和地區。",
        "{company_en}'s {industry_en} products are exported to {num} countries and regions.",
    ),
    (
        "區域協同創新讓{city}和周邊城市形成了產業集群。",
        "Regional innovation has turned {city_en} and its neighbours into an industrial cluster.",
    ),
    (
        "政策的延續性和穩定性,決定了企業的長期投入意願。",
        "The continuity and stability of policy determine whether firms commit for the long term.",
    ),
    (
        "要讓科學家從繁瑣的事務中解放出來,專心科研。",
        "Scientists should be freed from red tape to concentrate on research.",
    ),
    (
        "數字化轉型正在重塑{industry}的生產方式。",
        "Digital transformation is reshaping how {industry_en} produces.",
    ),
    (
        "綠色低碳發展為{industry}帶來了新的增長空間。",
        "Green and low-carbon development opens new room for growth in {industry_en}.",
    ),
    (
        "{city}將建設{num}個概念驗證中心,加速科技成果轉化。",
        "{city_en} will build {num} proof-of-concept centres to speed up technology transfer.",
    ),
    (
        "高校要把論文寫在祖國大地上,服務國家戰略需求。",
        "Universities should serve national strategic needs, not only write papers.",
    ),
    (
        "資本市場要為硬科技企業提供多層次的退出渠道。",
        "Capital markets must give hard-tech firms multi-tier exit channels.",
    ),
    (
        "標準和規則的制定,是國際競爭的制高點。",
        "Setting standards and rules is the commanding height of international competition.",
    ),
    (
        "基礎研究投入佔研發經費的比重要提高到{num}%。",
        "Basic research should rise to {num}% of R&D spending.",
    ),
    (
        "醫療器械的創新,需要臨床、監管和醫保支付的協同。",
        "Medical-device innovation needs clinical practice, regulation and insurance payment to "
        "work together.",
    ),
    (
        "要營造鼓勵探索、寬容失敗的創新文化。",
        "We must build a culture of innovation that encourages exploration and tolerates failure.",
    ),
]
ENGLISH_ONLY = [
    "Innovation policy must balance market forces with public investment in basic research.",
    "Patient capital is essential for deep-tech start-ups that need a decade to reach the market.",
    "The enterprise remains the main engine of innovation in {city_en}.",
    "Cross-border collaboration in {industry_en} depends on open data and shared standards.",
    "Universities and enterprises should co-design curricula for emerging industries.",
    "Regulatory sandboxes let innovators test {industry_en} products safely.",
    "Talent mobility between academia and industry drives technology transfer.",
    "Public procurement can create early markets for innovative enterprises.",
    "International science cooperation is a public good, not a zero-sum game.",
    "Venture investment in {industry_en} grew strongly in {city_en} last year.",
]
# A separate sentence ending in 力量 may be followed by one starting with 量子 (the probe).
STRENGTH = ("社會各界要凝聚創新的強大力量。", "Society must pool its strength for innovation.")

SURNAMES = [
    ("王", "Wang"),
    ("李", "Li"),
    ("張", "Zhang"),
    ("劉", "Liu"),
    ("陳", "Chen"),
    ("楊", "Yang"),
    ("趙", "Zhao"),
    ("黃", "Huang"),
    ("周", "Zhou"),
    ("吳", "Wu"),
    ("徐", "Xu"),
    ("孫", "Sun"),
    ("胡", "Hu"),
    ("朱", "Zhu"),
    ("高", "Gao"),
    ("林", "Lin"),
    ("何", "He"),
    ("郭", "Guo"),
    ("馬", "Ma"),
    ("羅", "Luo"),
    ("梁", "Liang"),
    ("宋", "Song"),
    ("鄭", "Zheng"),
    ("謝", "Xie"),
]
GIVEN = [
    ("偉", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("靜", "jing"),
    ("麗", "li"),
    ("強", "qiang"),
    ("磊", "lei"),
    ("軍", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艷", "yan"),
    ("傑", "jie"),
    ("濤", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀", "xiu"),
    ("霞", "xia"),
    ("平", "ping"),
    ("剛", "gang"),
    ("華", "hua"),
    ("建", "jian"),
    ("國", "guo"),
    ("文", "wen"),
    ("輝", "hui"),
    ("鵬", "peng"),
    ("飛", "fei"),
    ("玲", "ling"),
    ("晨", "chen"),
    ("宇", "yu"),
]
ROLES = [
    ("院長", "President"),
    ("主任", "Director"),
    ("首席科學家", "Chief Scientist"),
    ("董事長", "Chairman"),
    ("總經理", "General Manager"),
    ("教授", "Professor"),
    ("研究員", "Research Fellow"),
    ("副市長", "Vice Mayor"),
    ("合伙人", "Partner"),
    ("秘書長", "Secretary-General"),
]
INSTITUTION_KINDS = [
    ("大學", "University", "academia"),
    ("研究院", "Research Institute", "research"),
    ("科技有限公司", "Technology Co., Ltd.", "enterprise"),
    ("創投", "Ventures", "finance"),
    ("科學技術委員會", "Science and Technology Commission", "government"),
    ("協會", "Association", "association"),
    ("實驗室", "Laboratory", "research"),
]
COMPANY_CHARS = "中依騰華泰恒瑞思遠達宏科聯創新智睿博晟源啟明德信安和鼎盛嘉業"
COMPANY_SUFFIX = [("集團", "Group"), ("科技", "Technology"), ("股份", "Holdings")]
TAG_WORDS = [
    "企業創新主體",
    "成果轉化",
    "耐心資本",
    "數據要素",
    "知識產權",
    "人才引進",
    "科技金融",
    "未來產業",
    "區域創新",
    "開放合作",
    "基礎研究",
    "科研評價",
    "產業鏈",
    "新型研發機構",
    "數字化轉型",
    "綠色低碳",
    "概念驗證",
    "創新生態",
    "國際合作",
    "標準制定",
]
THEME_TITLES = [
    ("企業應真正成為融合創新的第一主體", "Enterprises as the first actor of integrated innovation"),
    ("融合不是簡單疊加,而是全要素協同", "Integration is the coordination of all factors"),
    ("融合的瓶頸在轉化,轉化的核心在機制", "The bottleneck of integration is translation"),
    ("未來產業是融合創新的主戰場", "Future industries are the main battlefield"),
    ("區域生態圈是深度融合的組織形態", "Regional ecosystems organise deep integration"),
    ("人才是第一資源", "Talent is the primary resource"),
    ("金融是創新的血液", "Finance is the blood of innovation"),
    ("制度先行,讓創新不必等待", "Institutions first, so innovation need not wait"),
    ("開放合作與全球科技治理", "Open cooperation and global S&T governance"),
    ("數據要素與數字經濟", "Data as a factor and the digital economy"),
]


REPORT_PARAGRAPHS = 40
REPORT_RARE_EVERY = 10
REPORT_RARE = "企業要從參與者轉變為出題人、答題人、閱卷人。"


class Corpus:
    """Pools and text generation for ``positions`` positions (pools scale with it)."""

    def __init__(self, positions, seed=1):
        self.rng = random.Random(seed)
        self.size = positions
        rng = self.rng
        self.companies = []
        for _ in range(max(500, positions // 200)):
            name = "".join(rng.sample(COMPANY_CHARS, 4))
            suffix, suffix_en = rng.choice(COMPANY_SUFFIX)
            self.companies.append((name + suffix, f"{name} {suffix_en}"))
        self.speakers = []
        for i in range(max(200, positions // 20)):
            surname, surname_en = SURNAMES[i % len(SURNAMES)]
            given = rng.sample(GIVEN, 2)
            self.speakers.append(
                (
                    surname + given[0][0] + given[1][0],
                    f"{surname_en} {given[0][1].title()}{given[1][1]}",
                )
            )
        self.institutions, names = [], set()
        for i in range(max(100, positions // 100)):
            city, city_en = CITIES[i % len(CITIES)]
            kind, kind_en, sector = rng.choice(INSTITUTION_KINDS)
            word = "".join(rng.sample(COMPANY_CHARS, 2))
            name = f"{city}{word}{kind}"
            if name in names:  # names are unique (case-insensitively) in the database
                name, word = f"{city}{word}第{i}{kind}", f"{word} No. {i}"
            names.add(name)
            self.institutions.append((name, f"{city_en} {word} {kind_en}", sector))
        self.tags = [
            f"{word}{i // len(TAG_WORDS) or ''}"
            for i, word in enumerate(TAG_WORDS * max(1, positions // 4000))
        ][: max(40, positions // 200)]
        self.rare_company = self.companies[17][0]

    def _fill(self, template, english):
        rng = self.rng
        city, city_en = rng.choice(CITIES)
        industry, industry_en = rng.choice(INDUSTRIES)
        org, org_en = rng.choice(ORGS)
        company, company_en = rng.choice(self.companies)
        num = str(rng.randint(2, 300))
        values = {
            "city": city,
            "city_en": city_en,
            "industry": industry,
            "industry_en": industry_en,
            "org": org,
            "org_en": org_en,
            "company": company,
            "company_en": company_en,
            "num": num,
        }
        return template.format(**values), english.format(**values)

    def text(self):
        """Return ``(text, language, translation)`` of one position."""
        rng = self.rng
        if rng.random() < 0.08:
            sentences = [
                rng.choice(ENGLISH_ONLY).format(
                    city_en=rng.choice(CITIES)[1], industry_en=rng.choice(INDUSTRIES)[1]
                )
                for _ in range(rng.randint(1, 3))
            ]
            return " ".join(sentences), "en", ""
        zh, en = [], []
        for _ in range(rng.randint(1, 5)):
            pair = STRENGTH if rng.random() < 0.04 else rng.choice(SENTENCES)
            a, b = self._fill(*pair)
            zh.append(a)
            en.append(b)
        if rng.random() < 0.10:
            zh.append(
                rng.choice(ENGLISH_ONLY).format(
                    city_en=rng.choice(CITIES)[1], industry_en=rng.choice(INDUSTRIES)[1]
                )
            )
        return "".join(zh), "zh-Hant", " ".join(en)

    def report(self, number):
        """Return the full text of forum ``number``'s report: paragraphs split by blank lines."""
        rng = self.rng
        paragraphs = []
        for _ in range(REPORT_PARAGRAPHS):
            sentences = [self._fill(*rng.choice(SENTENCES))[0] for _ in range(rng.randint(2, 6))]
            paragraphs.append("".join(sentences))
        if number % REPORT_RARE_EVERY == 0:
            where = rng.randrange(REPORT_PARAGRAPHS)
            paragraphs[where] += REPORT_RARE
        return "\n\n".join(paragraphs)
