"""Fixed tables behind the demo data: the org tree, places, products per line of business and claim causes.

Names of places and 行政区划代码 are real; the insurer, its products and its staff are invented.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPANY_NAME = "联络保险股份有限公司"
HQ_NAME = f"{COMPANY_NAME}总公司"
HQ_CODE = "000000"


@dataclass(frozen=True)
class OutletSpec:
    key: str  # suffix of demo usernames, e.g. "cy01"
    name: str  # short name; the org name is the central sub-branch's name + this
    region_code: str  # county-level 行政区划代码
    district: str  # address prefix, e.g. "北京市朝阳区"


@dataclass(frozen=True)
class CentralSpec:
    key: str
    name: str
    code: str
    region_code: str
    area_code: str  # telephone area code of the city
    landline_leads: str  # first digits local landline numbers start with
    plate_letters: str  # second character of licence plates issued there
    outlets: tuple[OutletSpec, ...]


@dataclass(frozen=True)
class BranchSpec:
    key: str
    name: str
    region_code: str
    plate_province: str  # first character of licence plates, e.g. 京
    street_style: str  # how a flat is written after the street: "bj", "sh" or "gd"
    home_counties: tuple[str, ...]  # other county codes of the province, for ID numbers of locals
    centrals: tuple[CentralSpec, ...]


def _outlets(district: str, *names_codes: tuple[str, str, str]) -> tuple[OutletSpec, ...]:
    return tuple(OutletSpec(key, name, code, district) for key, name, code in names_codes)


_BJ_PLATES = "ABCEFGHJKLMNPQ"

BRANCHES: tuple[BranchSpec, ...] = (
    BranchSpec(
        "bj", "北京分公司", "110000", "京", "bj",
        ("110101", "110102", "110105", "110106", "110107", "110108", "110111", "110112", "110113", "110114"),
        (
            CentralSpec("cy", "朝阳中心支公司", "110105", "110105", "010", "5678", _BJ_PLATES, _outlets(
                "北京市朝阳区", ("cy01", "望京营业部", "110105"), ("cy02", "国贸营业部", "110105"),
                ("cy03", "亚运村营业部", "110105"))),
            CentralSpec("hd", "海淀中心支公司", "110108", "110108", "010", "568", _BJ_PLATES, _outlets(
                "北京市海淀区", ("hd01", "中关村营业部", "110108"), ("hd02", "五道口营业部", "110108"),
                ("hd03", "公主坟营业部", "110108"))),
            CentralSpec("dc", "东城中心支公司", "110101", "110101", "010", "658", _BJ_PLATES, _outlets(
                "北京市东城区", ("dc01", "王府井营业部", "110101"), ("dc02", "东直门营业部", "110101"),
                ("dc03", "崇文门营业部", "110101"))),
        ),
    ),
    BranchSpec(
        "sh", "上海分公司", "310000", "沪", "sh",
        ("310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113", "310115"),
        (
            CentralSpec("pd", "浦东中心支公司", "310115", "310115", "021", "56", "ABCDEFGHJKLMN", _outlets(
                "上海市浦东新区", ("pd01", "陆家嘴营业部", "310115"), ("pd02", "张江营业部", "310115"),
                ("pd03", "金桥营业部", "310115"))),
            CentralSpec("xh", "徐汇中心支公司", "310104", "310104", "021", "56", "ABDEFGHJKLMN", _outlets(
                "上海市徐汇区", ("xh01", "徐家汇营业部", "310104"), ("xh02", "漕河泾营业部", "310104"),
                ("xh03", "田林营业部", "310104"))),
            CentralSpec("ja", "静安中心支公司", "310106", "310106", "021", "56", "ABDEFGHJKLMN", _outlets(
                "上海市静安区", ("ja01", "南京西路营业部", "310106"), ("ja02", "静安寺营业部", "310106"),
                ("ja03", "大宁营业部", "310106"))),
        ),
    ),
    BranchSpec(
        "gd", "广东分公司", "440000", "粤", "gd",
        ("440103", "440104", "440105", "440106", "440111", "440303", "440304", "440305", "440604", "441900",
         "440507", "445202", "440803", "441402"),
        (
            CentralSpec("gz", "广州中心支公司", "440100", "440100", "020", "38", "A", (
                OutletSpec("gz01", "天河营业部", "440106", "广东省广州市天河区"),
                OutletSpec("gz02", "海珠营业部", "440105", "广东省广州市海珠区"),
                OutletSpec("gz03", "番禺营业部", "440113", "广东省广州市番禺区"))),
            CentralSpec("sz", "深圳中心支公司", "440300", "440300", "0755", "28", "B", (
                OutletSpec("sz01", "福田营业部", "440304", "广东省深圳市福田区"),
                OutletSpec("sz02", "南山营业部", "440305", "广东省深圳市南山区"),
                OutletSpec("sz03", "宝安营业部", "440306", "广东省深圳市宝安区"))),
            CentralSpec("fs", "佛山中心支公司", "440600", "440600", "0757", "28", "EXY", (
                OutletSpec("fs01", "禅城营业部", "440604", "广东省佛山市禅城区"),
                OutletSpec("fs02", "南海营业部", "440605", "广东省佛山市南海区"),
                OutletSpec("fs03", "顺德营业部", "440606", "广东省佛山市顺德区"))),
            CentralSpec("dg", "东莞中心支公司", "441900", "441900", "0769", "28", "S", (
                OutletSpec("dg01", "南城营业部", "441900", "广东省东莞市南城街道"),
                OutletSpec("dg02", "长安营业部", "441900", "广东省东莞市长安镇"),
                OutletSpec("dg03", "虎门营业部", "441900", "广东省东莞市虎门镇"))),
        ),
    ),
)

# Birthplaces of people who moved to the three regions (county codes of other provinces' cities).
MIGRANT_COUNTIES: tuple[str, ...] = (
    "130102", "130602", "410105", "410102", "430104", "510107", "320106", "420106", "370102", "330106",
    "360102", "450103", "350203", "610113", "220102", "230103", "340104", "140105", "210102", "500103",
)

MOBILE_PREFIXES: tuple[tuple[str, int], ...] = (
    *((f"13{d}", 10) for d in range(10)),
    *((f"15{d}", 7) for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
    *((f"18{d}", 8) for d in range(10)),
    ("166", 2), ("176", 2), ("177", 2), ("178", 2), ("191", 1), ("198", 2), ("199", 2), ("147", 1),
)

# (issuer identification number, card length): common debit cards of the big banks.
BANK_CARDS: tuple[tuple[str, int], ...] = (
    ("622202", 19), ("621700", 19), ("622848", 19), ("621661", 19), ("622588", 16), ("621483", 16),
    ("622262", 19), ("622908", 18),
)

EMAIL_DOMAINS: tuple[tuple[str, int], ...] = (
    ("163.com", 30), ("126.com", 12), ("sina.com", 6), ("139.com", 6), ("foxmail.com", 6), ("outlook.com", 5),
    ("aliyun.com", 3),
)

CUSTOMER_LEVELS: tuple[tuple[str, int], ...] = (("normal", 72), ("silver", 16), ("gold", 9), ("vip", 3))

LINE_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("motor", 35), ("medical", 12), ("critical_illness", 8), ("accident", 12), ("life", 8), ("participating", 8),
    ("universal", 5), ("annuity", 4), ("property_other", 5), ("unit_linked", 1), ("surety", 2),
)

CHANNELS_BY_LINE: dict[str, tuple[tuple[str, int], ...]] = {
    "motor": (("个险", 40), ("电销", 25), ("网销", 35)),
    "medical": (("网销", 50), ("个险", 30), ("电销", 15), ("团险", 5)),
    "critical_illness": (("个险", 70), ("银保", 10), ("电销", 10), ("网销", 10)),
    "accident": (("个险", 40), ("网销", 45), ("电销", 15)),
    "life": (("个险", 65), ("银保", 20), ("电销", 10), ("网销", 5)),
    "participating": (("个险", 45), ("银保", 50), ("电销", 5)),
    "universal": (("个险", 40), ("银保", 55), ("网销", 5)),
    "annuity": (("个险", 50), ("银保", 45), ("网销", 5)),
    "property_other": (("个险", 40), ("网销", 60)),
    "unit_linked": (("个险", 50), ("银保", 50)),
    "surety": (("网销", 70), ("个险", 30)),
}

# Policy number prefixes of the property-casualty lines; life lines use "P" + 12 digits.
PC_POLICY_PREFIX: dict[str, str] = {"motor": "PDAA", "accident": "PEAA", "property_other": "PQAA", "surety": "PYAA"}
COMPULSORY_MOTOR_PREFIX = "PDZA"


@dataclass(frozen=True)
class Product:
    """A product on sale. ``amounts`` are sums insured, or premiums per year when ``savings`` is set
    (savings products are bought by premium: a single premium is ``single_factor`` times the yearly
    one, and the sum insured is the total premium times ``ratio``). Otherwise ``ratio`` is the total
    premium over the whole payment term as a share of the sum insured, lower bound for the youngest."""

    name: str
    weight: int
    terms: tuple[int | None, ...]  # policy term in years; None = whole life
    plans: tuple[tuple[str, int, int], ...]  # (payment_frequency, payment_years, weight)
    amounts: tuple[int, ...]
    ratio: tuple[float, float]
    savings: bool = False
    single_factor: int = 1
    min_age: int = 18
    max_age: int = 85
    channel: str | None = None  # forced sales channel
    fixed_premiums: tuple[int, ...] = ()
    compulsory_motor: bool = False


_SINGLE = (("single", 1, 1),)

PRODUCTS: dict[str, tuple[Product, ...]] = {
    "motor": (
        Product("机动车交通事故责任强制保险", 45, (1,), _SINGLE, (200_000,), (0, 0),
                fixed_premiums=(665, 760, 855, 950, 950, 950, 1045, 1235), compulsory_motor=True),
        Product("机动车商业保险", 55, (1,), _SINGLE, (1_000_000, 1_500_000, 2_000_000, 3_000_000), (0.0012, 0.004)),
    ),
    "medical": (
        Product("联享e生百万医疗保险", 50, (1,), (("single", 1, 70), ("monthly", 1, 30)),
                (2_000_000, 3_000_000, 4_000_000, 6_000_000), (0.00006, 0.0004), max_age=70),
        Product("安康住院医疗保险", 25, (1,), _SINGLE, (50_000, 100_000, 200_000), (0.002, 0.008)),
        Product("长相安长期医疗保险（20年保证续保）", 15, (20,), (("annual", 20, 1),),
                (2_000_000, 4_000_000), (0.004, 0.02), max_age=65),
        Product("臻享中端医疗保险", 10, (1,), (("single", 1, 80), ("semiannual", 1, 20)),
                (1_000_000, 2_000_000), (0.002, 0.006), max_age=65),
    ),
    "critical_illness": (
        Product("联络福终身重大疾病保险", 45, (None,), (("annual", 10, 20), ("annual", 20, 50), ("annual", 30, 25),
                ("single", 1, 5)), (100_000, 200_000, 300_000, 500_000), (0.35, 0.9), max_age=60),
        Product("康乐一生重大疾病保险（30年）", 30, (30,), (("annual", 20, 60), ("annual", 30, 40)),
                (100_000, 200_000, 300_000), (0.15, 0.4), max_age=55),
        Product("康宁防癌保险", 25, (1,), _SINGLE, (100_000, 200_000, 300_000), (0.002, 0.01)),
    ),
    "accident": (
        Product("综合意外伤害保险", 40, (1,), _SINGLE, (100_000, 200_000, 500_000, 1_000_000), (0.0003, 0.001),
                max_age=65),
        Product("交通工具意外伤害保险", 20, (1,), _SINGLE, (500_000, 1_000_000, 2_000_000), (0.0001, 0.0004)),
        Product("团体意外伤害保险", 15, (1,), _SINGLE, (200_000, 500_000), (0.0005, 0.0015), max_age=65,
                channel="团险"),
        Product("银发安康老年人意外伤害保险", 15, (1,), _SINGLE, (50_000, 100_000), (0.002, 0.005), min_age=50),
        Product("驾乘人员意外伤害保险", 10, (1,), _SINGLE, (100_000, 200_000), (0.001, 0.003)),
    ),
    "life": (
        Product("安心守护定期寿险", 40, (20, 30), (("annual", 10, 30), ("annual", 20, 70)),
                (500_000, 1_000_000, 2_000_000, 3_000_000), (0.02, 0.08), max_age=55),
        Product("传家宝终身寿险", 35, (None,), (("annual", 10, 45), ("annual", 20, 40), ("single", 1, 15)),
                (200_000, 500_000, 1_000_000), (0.4, 0.8), max_age=65),
        Product("鑫传世增额终身寿险", 25, (None,), (("annual", 3, 30), ("annual", 5, 30), ("annual", 10, 20),
                ("single", 1, 20)), (10_000, 20_000, 50_000, 100_000, 200_000), (0.6, 1.0), savings=True,
                single_factor=3),
    ),
    "participating": (
        Product("福满堂两全保险（分红型）", 40, (10, 15, 20), (("annual", 3, 30), ("annual", 5, 30),
                ("annual", 10, 25), ("single", 1, 15)), (10_000, 20_000, 30_000, 50_000, 100_000), (1.0, 1.3),
                savings=True, single_factor=3, max_age=70),
        Product("金玉满堂终身寿险（分红型）", 35, (None,), (("annual", 5, 40), ("annual", 10, 40), ("annual", 20, 20)),
                (6_000, 12_000, 24_000, 50_000), (0.8, 1.5), savings=True, max_age=65),
        Product("富贵花开两全保险（分红型）", 25, (6,), (("annual", 3, 60), ("single", 1, 40)),
                (20_000, 50_000, 100_000, 200_000), (1.0, 1.15), savings=True, single_factor=2),
    ),
    "universal": (
        Product("金账户终身寿险（万能型）", 60, (None,), (("single", 1, 70), ("annual", 5, 20), ("annual", 10, 10)),
                (10_000, 20_000, 50_000, 100_000, 200_000), (1.05, 1.2), savings=True, single_factor=5),
        Product("财富通两全保险（万能型）", 40, (10, 20), (("single", 1, 60), ("annual", 5, 40)),
                (10_000, 30_000, 50_000, 100_000), (1.0, 1.1), savings=True, single_factor=3),
    ),
    "annuity": (
        Product("鑫享年年年金保险", 50, (None,), (("annual", 3, 35), ("annual", 5, 35), ("annual", 10, 20),
                ("single", 1, 10)), (10_000, 20_000, 50_000, 100_000, 200_000), (1.0, 1.1), savings=True,
                single_factor=3),
        Product("颐养天年养老年金保险", 30, (None,), (("annual", 10, 40), ("annual", 15, 30), ("annual", 20, 20),
                ("monthly", 10, 10)), (6_000, 12_000, 24_000, 36_000), (1.0, 1.2), savings=True, min_age=25,
                max_age=60),
        Product("乐享十年年金保险", 20, (10,), (("annual", 3, 50), ("annual", 5, 30), ("single", 1, 20)),
                (10_000, 30_000, 50_000, 100_000), (1.0, 1.08), savings=True, single_factor=3),
    ),
    "property_other": (
        Product("家庭财产综合保险", 55, (1,), _SINGLE, (200_000, 500_000, 1_000_000, 2_000_000), (0.0003, 0.001)),
        Product("个人账户资金安全保险", 20, (1,), _SINGLE, (50_000, 100_000, 500_000), (0.0002, 0.001)),
        Product("宠物主人责任保险", 10, (1,), _SINGLE, (50_000, 100_000), (0.001, 0.003), max_age=70),
        Product("小微企业财产综合保险", 15, (1,), _SINGLE, (1_000_000, 3_000_000, 5_000_000), (0.0008, 0.002),
                max_age=70),
    ),
    "unit_linked": (
        Product("聚财宝终身寿险（投资连结型）", 100, (None,), (("single", 1, 80), ("annual", 5, 12), ("annual", 10, 8)),
                (20_000, 50_000, 100_000, 200_000), (1.0, 1.05), savings=True, single_factor=4, max_age=70),
    ),
    "surety": (
        Product("个人贷款保证保险", 70, (1, 2, 3), _SINGLE, (30_000, 50_000, 100_000, 200_000, 300_000), (0.01, 0.04),
                max_age=60),
        Product("车贷履约保证保险", 30, (3,), _SINGLE, (50_000, 100_000, 150_000, 200_000), (0.02, 0.05),
                max_age=60),
    ),
}

# Chance that a policy of each line has a claim after a full year in cover (less when it began more
# recently); about 8% of all policies end up with one under LINE_WEIGHTS.
CLAIM_RATE: dict[str, float] = {
    "motor": 0.22, "medical": 0.19, "accident": 0.1, "critical_illness": 0.035, "life": 0.012,
    "property_other": 0.09, "surety": 0.05, "participating": 0.002, "universal": 0.002, "annuity": 0.002,
    "unit_linked": 0.002,
}


@dataclass(frozen=True)
class Cause:
    """A claim cause: amounts in yuan, or as shares of the sum insured when ``share`` is set."""

    name: str
    weight: int
    lo: float
    hi: float
    descriptions: tuple[str, ...]
    share: bool = False


_DISABILITY = Cause("全残", 100, 1.0, 1.0, ("因疾病导致双下肢永久完全丧失功能，经鉴定为全残。",), share=True)

CAUSES: dict[str, tuple[Cause, ...]] = {
    "motor": (
        Cause("碰撞", 30, 3_000, 60_000, ("在{street}与他车发生碰撞，本车{part}受损，无人员伤亡。",
                                          "变道时与相邻车道车辆碰撞，{part}受损，双方同意走保险。")),
        Cause("追尾", 20, 2_000, 30_000, ("在{street}等红灯时被后车追尾，后保险杠及尾灯受损。",
                                          "跟车过近追尾前车，本车{part}受损，对方车尾轻微受损。")),
        Cause("刮擦", 25, 500, 6_000, ("停车入位时与立柱刮擦，{part}漆面受损。", "窄路会车时刮擦，{part}划痕。")),
        Cause("单方事故", 8, 2_000, 40_000, ("雨天路滑，车辆失控撞上护栏，{part}受损。",)),
        Cause("玻璃单独破碎", 6, 800, 6_000, ("行驶中前挡风玻璃被飞石击碎。",)),
        Cause("停放时被撞", 5, 1_000, 15_000, ("车辆停放在小区内被不明车辆撞击，{part}受损，对方逃逸。",)),
        Cause("三者人伤", 4, 10_000, 300_000, ("在{street}路口与电动自行车发生碰撞，对方骑车人受伤送医。",)),
        Cause("暴雨泡水", 2, 5_000, 120_000, ("暴雨导致地下车库积水，车辆被淹，无法启动。",)),
    ),
    "medical": (
        Cause("住院", 55, 3_000, 80_000, ("因{disease}住院治疗，申请报销住院医疗费用。",)),
        Cause("门诊手术", 15, 1_000, 15_000, ("因{disease}行门诊手术，申请报销手术费用。",)),
        Cause("特殊门诊", 15, 2_000, 50_000, ("特殊门诊治疗（{disease}），申请报销门诊费用。",)),
        Cause("恶性肿瘤住院", 15, 30_000, 400_000, ("确诊恶性肿瘤后住院化疗，申请报销医疗费用。",)),
    ),
    "critical_illness": (
        Cause("重疾确诊（恶性肿瘤）", 60, 1.0, 1.0, ("经病理检查确诊恶性肿瘤，申请重大疾病保险金。",), share=True),
        Cause("重疾确诊（急性心肌梗死）", 15, 1.0, 1.0, ("突发胸痛入院，确诊急性心肌梗死。",), share=True),
        Cause("重疾确诊（脑中风后遗症）", 10, 1.0, 1.0, ("脑梗塞后遗留肢体功能障碍，超过180天。",), share=True),
        Cause("轻症确诊", 15, 0.2, 0.3, ("确诊轻度疾病，申请轻症保险金。",), share=True),
    ),
    "accident": (
        Cause("意外骨折", 35, 2_000, 30_000, ("{place}摔倒致{bone}骨折，住院手术治疗。",)),
        Cause("意外医疗", 40, 300, 8_000, ("{place}不慎受伤，门诊清创缝合。",)),
        Cause("交通意外受伤", 20, 5_000, 80_000, ("乘坐出租车途中发生交通事故受伤，住院治疗。",)),
        Cause("意外伤残", 5, 0.1, 0.6, ("意外受伤后遗留伤残，经鉴定为伤残等级。",), share=True),
    ),
    "life": (
        _DISABILITY,
        Cause("疾病终末期", 60, 1.0, 1.0, ("经医院诊断为疾病终末期，申请提前给付保险金。",), share=True),
    ),
    "property_other": (
        Cause("水管爆裂", 40, 1_000, 20_000, ("家中水管爆裂，地板及家具被水浸泡受损。",)),
        Cause("火灾", 10, 10_000, 300_000, ("厨房起火，橱柜及电器烧毁。",)),
        Cause("盗窃", 20, 2_000, 30_000, ("家中被盗，已报警，丢失现金及首饰。",)),
        Cause("台风暴雨", 20, 2_000, 50_000, ("台风期间门窗损坏，室内物品被雨水淋湿。",)),
        Cause("账户盗刷", 10, 1_000, 50_000, ("银行卡被盗刷，已报警并冻结账户。",)),
    ),
    "surety": (Cause("借款人逾期", 100, 0.2, 1.0, ("借款人连续逾期超过80天，出借方申请理赔。",), share=True),),
    "participating": (_DISABILITY,),
    "universal": (_DISABILITY,),
    "annuity": (_DISABILITY,),
    "unit_linked": (_DISABILITY,),
}

CLAIM_WORDS: dict[str, tuple[str, ...]] = {
    "part": ("前保险杠", "左前翼子板", "右后车门", "后保险杠", "左侧后视镜", "前大灯", "引擎盖"),
    "disease": ("急性阑尾炎", "肺炎", "胆囊结石", "腰椎间盘突出", "冠心病", "2型糖尿病", "甲状腺结节", "肾结石"),
    "place": ("下楼梯时", "雨天路滑", "运动时", "骑车时", "外出旅游时"),
    "bone": ("左腕", "右踝", "肋", "左小腿", "右锁"),
}

# Days from accident to report (lo, hi) and from report to closing (lo, hi), per line.
REPORT_DELAY_DAYS: dict[str, tuple[float, float]] = {
    "motor": (0.005, 2), "medical": (3, 60), "critical_illness": (7, 90), "accident": (1, 30),
    "property_other": (0.05, 3), "surety": (30, 90), "life": (10, 60), "participating": (10, 60),
    "universal": (10, 60), "annuity": (10, 60), "unit_linked": (10, 60),
}
HANDLING_DAYS: dict[str, tuple[float, float]] = {
    "motor": (2, 40), "medical": (3, 30), "critical_illness": (10, 60), "accident": (3, 30),
    "property_other": (5, 45), "surety": (30, 90), "life": (15, 60), "participating": (15, 60),
    "universal": (15, 60), "annuity": (15, 60), "unit_linked": (15, 60),
}

# VIN world manufacturer identifiers of carmakers building in China.
VIN_WMIS: tuple[str, ...] = ("LSV", "LFV", "LVS", "LHG", "LGB", "LSG", "LGX", "LRW", "LVG", "LBV", "LFM", "LDC")
