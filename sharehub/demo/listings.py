"""Demo catalogue: published equipment, expert and dataset listings of the five active demo labs.

`seed_demo_listings()` fills each active demo laboratory (found by its city) with listings that
fit its speciality, with units, opening hours and photos drawn locally with Pillow. A lab that
already has listings is left alone. It only flushes; the caller commits.
"""

from __future__ import annotations

import colorsys
import io
import math
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFont, ImageOps

from sharehub.accounts.models import Organisation, OrgKind, OrgStatus
from sharehub.catalog.files import _thumbnail
from sharehub.catalog.models import (
    AccessMode,
    Field,
    InstrumentCategory,
    Listing,
    ListingFile,
    ListingKind,
    ListingStatus,
    OpeningInterval,
    PriceUnit,
    Unit,
)
from sharehub.catalog.reference import seed_categories
from sharehub.catalog.search import index_fields
from sharehub.core.db import utcnow
from sharehub.core.uploads import store_bytes
from sharehub.extensions import db


class Eq(NamedTuple):
    """An equipment listing; value and prices in yuan (stored in fen)."""

    code: str
    name: str
    name_en: str
    model: str
    maker: str
    country: str
    value: int
    since: str
    units: int
    price: int
    rules: str
    hours: str
    indicators: str
    fields: str
    desc: str
    desc_en: str
    min_charge: int = 0
    training: str = ""
    field: Field | None = None


class Ex(NamedTuple):
    """An expert listing; price in yuan per session."""

    name: str
    name_en: str
    expert: str
    title: str
    fields: str
    qualifications: str
    languages: str
    price: int
    rules: str
    hours: str
    desc: str
    desc_en: str
    photo: bool = False


class Ds(NamedTuple):
    """A dataset listing; price in yuan per access period."""

    name: str
    name_en: str
    licence: str
    data_format: str
    data_size: str
    mode: AccessMode
    days: int
    price: int
    desc: str
    desc_en: str


# City code of a demo lab -> (instrument number prefix, field of the lab)
LAB_PROFILES: dict[str, tuple[str, Field]] = {
    "320500": ("SZ-XCL", Field.NEW_MATERIALS),
    "440300": ("SZN-XXJS", Field.INFORMATION_TECHNOLOGY),
    "330200": ("NB-QPJ", Field.HIGH_END_MANUFACTURING),
    "350200": ("XM-SWYY", Field.BIOMEDICINE),
    "340100": ("HF-XNY", Field.ENERGY_ELECTRONICS),
}

PLATFORM_LICENCE = "平台数据使用协议（ShareHub data use agreement）"

RULES: dict[str, dict] = {
    "std": dict(
        slot_minutes=60,
        min_minutes=60,
        max_minutes=480,
        lead_hours=24,
        horizon_days=90,
        buffer_minutes=0,
        approval_required=True,
        free_cancel_hours=48,
        cancel_fee_percent=20,
    ),
    "instant": dict(
        slot_minutes=30,
        min_minutes=60,
        max_minutes=240,
        lead_hours=24,
        horizon_days=60,
        buffer_minutes=15,
        approval_required=False,
        free_cancel_hours=24,
        cancel_fee_percent=0,
    ),
    "half": dict(
        slot_minutes=30,
        min_minutes=30,
        max_minutes=240,
        lead_hours=24,
        horizon_days=60,
        buffer_minutes=15,
        approval_required=True,
        free_cancel_hours=24,
        cancel_fee_percent=20,
    ),
    "heavy": dict(
        slot_minutes=60,
        min_minutes=120,
        max_minutes=480,
        lead_hours=48,
        horizon_days=90,
        buffer_minutes=30,
        approval_required=True,
        free_cancel_hours=48,
        cancel_fee_percent=50,
    ),
    "long": dict(
        slot_minutes=60,
        min_minutes=1440,
        max_minutes=10080,
        lead_hours=48,
        horizon_days=90,
        buffer_minutes=30,
        approval_required=True,
        free_cancel_hours=48,
        cancel_fee_percent=50,
    ),
    "expert": dict(
        slot_minutes=60,
        min_minutes=60,
        max_minutes=120,
        lead_hours=48,
        horizon_days=60,
        buffer_minutes=30,
        approval_required=True,
        free_cancel_hours=48,
        cancel_fee_percent=50,
    ),
    "expert_quick": dict(
        slot_minutes=30,
        min_minutes=30,
        max_minutes=120,
        lead_hours=24,
        horizon_days=60,
        buffer_minutes=15,
        approval_required=False,
        free_cancel_hours=24,
        cancel_fee_percent=0,
    ),
    "dataset": dict(
        slot_minutes=60,
        min_minutes=60,
        max_minutes=480,
        lead_hours=24,
        horizon_days=90,
        buffer_minutes=0,
        approval_required=True,
        free_cancel_hours=48,
        cancel_fee_percent=0,
    ),
}

_WORKDAY = [(510, 720), (810, 1050)]  # 08:30-12:00, 13:30-17:30
HOURS: dict[str, list[tuple[int, int, int]]] = {
    "std": [(d, s, e) for d in range(5) for s, e in _WORKDAY],
    "sat": [(d, s, e) for d in range(5) for s, e in _WORKDAY] + [(5, 510, 720)],
    "24h": [(d, 0, 1440) for d in range(7)],
}

INTERNAL_PERCENT = (60, 50, 70, 65, 55)

# ---------------------------------------------------------------------------------------------
# Equipment, by city code of the lab
# ---------------------------------------------------------------------------------------------

EQUIPMENT: dict[str, list[Eq]] = {
    # Suzhou: new materials
    "320500": [
        Eq(
            code="020601",
            name="场发射扫描电子显微镜",
            name_en="Field-emission scanning electron microscope",
            model="Sigma 300",
            maker="卡尔蔡司（ZEISS）",
            country="德国",
            value=3_260_000,
            since="2019-06-18",
            units=1,
            price=600,
            rules="std",
            hours="sat",
            indicators="分辨率 1.2 nm@15 kV、2.2 nm@1 kV；加速电压 0.02–30 kV；"
            "放大倍数 10×–1,000,000×；配 Oxford Ultim Max 65 能谱仪与 EBSD 探头",
            fields="纳米材料形貌观察、断口与失效分析、微区成分（EDS）分析、晶体取向（EBSD）分析",
            desc="热场发射扫描电镜，低电压下仍有高分辨率，适合导电与弱导电样品的表面"
            "形貌观察；配能谱与背散射电子衍射，可完成微区成分和晶体取向分析。"
            "提供喷金、喷碳制样服务。",
            desc_en="Thermal field-emission SEM with high resolution even at low voltage, "
            "for surface morphology of conductive and weakly conductive samples. "
            "EDS and EBSD detectors give micro-area composition and crystal "
            "orientation. Gold and carbon sputter coating available.",
        ),
        Eq(
            code="020602",
            name="场发射透射电子显微镜",
            name_en="Field-emission transmission electron microscope",
            model="Talos F200X G2",
            maker="赛默飞世尔科技（Thermo Fisher Scientific）",
            country="美国",
            value=18_600_000,
            since="2021-03-26",
            units=1,
            price=1500,
            rules="heavy",
            hours="std",
            min_charge=3000,
            training="首次自主上机须参加本实验室 TEM 操作培训（4 学时）并通过考核；"
            "未经培训的用户由本室工程师代为操作。 First-time users complete the "
            "lab's 4-hour TEM training and test; otherwise our engineer operates "
            "the microscope.",
            indicators="点分辨率 0.25 nm，STEM 分辨率 0.16 nm；加速电压 80–200 kV；"
            "Super-X 四探头能谱；Ceta 16M 相机；原位加热样品杆（室温–1000 °C）",
            fields="纳米颗粒与薄膜微结构、晶体缺陷、界面及元素面分布分析、催化剂与电池材料表征",
            desc="高亮度 X-FEG 电子枪与 Super-X 能谱系统，可进行高分辨成像、STEM-HAADF "
            "原子序数衬度像与快速元素面分布分析，支持 FIB 制样后的薄区样品观察。",
            desc_en="High-brightness X-FEG gun and Super-X EDS for high-resolution imaging, "
            "STEM-HAADF Z-contrast images and fast elemental mapping; suited to "
            "FIB-prepared lamellae.",
        ),
        Eq(
            code="020501",
            name="X射线衍射仪",
            name_en="X-ray diffractometer",
            model="D8 ADVANCE",
            maker="布鲁克（Bruker AXS）",
            country="德国",
            value=2_150_000,
            since="2018-09-12",
            units=2,
            price=300,
            rules="instant",
            hours="std",
            indicators="Cu 靶，最大功率 3 kW；测角仪精度 ±0.0001°；LYNXEYE XE-T 阵列"
            "探测器；2θ 范围 -110°–168°；高温附件至 1200 °C",
            fields="物相定性定量分析、晶粒尺寸与微观应变、残余应力、薄膜掠入射 XRD、高温原位相变",
            desc="两台同型号粉末衍射仪，配能量分辨阵列探测器，荧光背底低，适合含铁、"
            "钴样品；可做 Rietveld 精修与残余应力测定。",
            desc_en="Two identical powder diffractometers with energy-resolving array "
            "detectors and low fluorescence background, good for Fe and Co samples; "
            "Rietveld refinement and residual stress measurement.",
        ),
        Eq(
            code="020303",
            name="电感耦合等离子体发射光谱仪",
            name_en="ICP optical emission spectrometer",
            model="5110 SVDV",
            maker="安捷伦（Agilent Technologies）",
            country="澳大利亚",
            value=980_000,
            since="2020-05-08",
            units=2,
            price=400,
            rules="std",
            hours="std",
            min_charge=800,
            indicators="波长范围 167–785 nm；同步垂直双向观测；检出限 μg/L 级；"
            "线性范围 6 个数量级；SPS 4 自动进样器",
            fields="金属及合金、稀土材料、电子化学品中主量与痕量元素定量分析",
            desc="同步垂直双向观测 ICP-OES，一次进样同时获得轴向与径向数据，分析速度快、"
            "氩气消耗低。提供微波消解前处理。",
            desc_en="Synchronous vertical dual-view ICP-OES: axial and radial data from one "
            "aspiration, fast and economical on argon. Microwave digestion offered.",
        ),
        Eq(
            code="020603",
            name="原子力显微镜",
            name_en="Atomic force microscope",
            model="Dimension Icon",
            maker="布鲁克（Bruker Nano）",
            country="美国",
            value=2_780_000,
            since="2019-11-20",
            units=1,
            price=500,
            rules="half",
            hours="std",
            training="须先完成 AFM 基础操作培训（2 学时）。 Users complete a 2-hour AFM "
            "basics training first.",
            indicators="XY 扫描范围 90 μm，Z 范围 10 μm；噪声水平 <30 pm；PeakForce "
            "Tapping、KPFM、C-AFM、PFM 模式；样品直径 ≤210 mm",
            fields="薄膜表面粗糙度、二维材料层厚、纳米力学性能、表面电势与导电性分布",
            desc="大样品台原子力显微镜，支持峰值力轻敲与多种电学模式，可对晶圆级样品"
            "进行纳米级形貌、力学与电学表征。",
            desc_en="Large-sample AFM with PeakForce Tapping and electrical modes for "
            "nanoscale topography, mechanics and electrical properties, up to "
            "wafer-size samples.",
        ),
        Eq(
            code="020304",
            name="波长色散X射线荧光光谱仪",
            name_en="Wavelength-dispersive X-ray fluorescence spectrometer",
            model="ZSX Primus IV",
            maker="理学（Rigaku）",
            country="日本",
            value=1_680_000,
            since="2020-10-15",
            units=1,
            price=350,
            rules="instant",
            hours="std",
            indicators="元素范围 Be–U；4 kW 端窗铑靶；上照射光路；检出限 ppm 级；48 位自动进样器",
            fields="陶瓷、玻璃、矿物与金属材料主次量元素分析，无标样半定量分析",
            desc="上照射式波长色散 XRF，熔片与压片制样均可，适合粉体、块体与液体样品的"
            "快速元素分析。",
            desc_en="Tube-above WDXRF for fused beads and pressed pellets: fast elemental "
            "analysis of powders, solids and liquids.",
        ),
        Eq(
            code="020306",
            name="激光共聚焦显微拉曼光谱仪",
            name_en="Confocal Raman microscope",
            model="LabRAM HR Evolution",
            maker="堀场（HORIBA Scientific）",
            country="法国",
            value=1_460_000,
            since="2019-04-02",
            units=1,
            price=350,
            rules="std",
            hours="std",
            indicators="激发波长 325/532/633/785 nm；光谱分辨率 ≤0.35 cm⁻¹；横向空间分辨率"
            " <1 μm；谱图范围 50–9000 cm⁻¹；自动平台与拉曼成像",
            fields="石墨烯、碳纳米管等碳材料结构表征，半导体应力分析，高分子与矿物鉴定",
            desc="800 mm 长焦距高分辨拉曼光谱仪，四路激光可选，支持紫外拉曼与快速面扫成像。",
            desc_en="800 mm focal-length high-resolution Raman with four lasers, UV Raman "
            "and fast mapping.",
        ),
        Eq(
            code="020701",
            name="差示扫描量热仪",
            name_en="Differential scanning calorimeter",
            model="DSC 214 Polyma",
            maker="耐驰（NETZSCH）",
            country="德国",
            value=560_000,
            since="2021-07-09",
            units=2,
            price=180,
            rules="instant",
            hours="std",
            indicators="温度范围 -170–600 °C；升温速率 0.001–500 K/min；量热精度 ±0.1 %；"
            "20 位自动进样器",
            fields="高分子材料玻璃化转变、熔融结晶、固化度、比热容与氧化诱导期（OIT）测定",
            desc="面向高分子材料的差示扫描量热仪，配液氮制冷，可按 GB/T 19466、ISO 11357 "
            "出具检测报告。",
            desc_en="DSC for polymers with liquid-nitrogen cooling; reports to GB/T 19466 "
            "and ISO 11357.",
        ),
        Eq(
            code="020702",
            name="热重-差热同步分析仪",
            name_en="Simultaneous TGA/DSC analyser",
            model="TGA/DSC 3+",
            maker="梅特勒-托利多（METTLER TOLEDO）",
            country="瑞士",
            value=620_000,
            since="2020-01-14",
            units=1,
            price=200,
            rules="std",
            hours="std",
            indicators="温度范围 室温–1600 °C；天平分辨率 0.1 μg；同步 DSC 热流；"
            "可联用 FTIR 逸出气体分析",
            fields="材料热稳定性、填料与灰分含量、分解动力学、逸出气体分析",
            desc="超微量天平热重与同步 DSC，高温炉体至 1600 °C，适合陶瓷、金属粉末与复合材料。",
            desc_en="Ultra-micro balance TGA with simultaneous DSC up to 1600 °C for "
            "ceramics, metal powders and composites.",
        ),
        Eq(
            code="020902",
            name="比表面积及孔径分析仪",
            name_en="Surface area and porosity analyser",
            model="ASAP 2460",
            maker="麦克默瑞提克（Micromeritics）",
            country="美国",
            value=720_000,
            since="2022-04-18",
            units=2,
            price=250,
            rules="std",
            hours="std",
            indicators="比表面积下限 0.0005 m²/g（氪气）；孔径范围 0.35–500 nm；"
            "3 个独立分析站；Smart VacPrep 脱气站",
            fields="催化剂、分子筛、活性炭、电池正负极材料的比表面积与孔结构（BET、BJH、DFT）",
            desc="三站并行的物理吸附仪，可测微孔与介孔分布，配氪气低比表面积选件。",
            desc_en="Three-port physisorption analyser for micro- and mesopore "
            "distributions, with a krypton option for low surface areas.",
        ),
    ],
    # Shenzhen: information technology and EMC
    "440300": [
        Eq(
            code="040201",
            name="10米法半电波暗室电磁兼容测试系统",
            name_en="10 m semi-anechoic chamber EMC test system",
            model="FACT 10 + ESW44",
            maker="ETS-Lindgren / 罗德与施瓦茨（Rohde & Schwarz）",
            country="美国",
            value=28_600_000,
            since="2018-12-05",
            units=1,
            price=1500,
            rules="heavy",
            hours="std",
            min_charge=6000,
            indicators="10 m 法测试距离，转台直径 6 m（承重 3 t）；频率范围 9 kHz–40 GHz；"
            "NSA 偏差 ±4 dB；天线塔 1–4 m 自动升降；EMI 接收机 R&S ESW44",
            fields="信息技术设备、音视频设备与汽车电子的辐射骚扰与辐射抗扰度测试"
            "（GB/T 9254.1、CISPR 32、CISPR 25）",
            desc="10 米法半电波暗室，场地满足 CNAS 与 FCC、ISED 认可要求，可承接整机与"
            "大型系统的辐射发射、辐射抗扰度测试，并提供预扫与整改支持。",
            desc_en="10 m semi-anechoic chamber accredited for CNAS, FCC and ISED work: "
            "radiated emission and immunity of complete products and large "
            "systems, with pre-scans and remediation support.",
        ),
        Eq(
            code="040201",
            name="传导与瞬态抗扰度测试系统",
            name_en="Conducted and transient immunity test system",
            model="UCS 500N7 + CWS 500N1",
            maker="EM TEST（AMETEK CTS）",
            country="瑞士",
            value=1_280_000,
            since="2020-08-21",
            units=2,
            price=400,
            rules="instant",
            hours="std",
            indicators="浪涌 0.5–7 kV（1.2/50 μs）；电快速瞬变脉冲群 0.2–5.5 kV；"
            "静电放电 ±30 kV；传导抗扰度 150 kHz–230 MHz、10 V；电压暂降与短时中断",
            fields="GB/T 17626 系列、IEC 61000-4-2/4/5/6/11 抗扰度试验，通信设备与"
            "电源适配器 EMS 评估",
            desc="两套完整的 EMS 试验台，覆盖静电、群脉冲、浪涌、传导抗扰与电压跌落，"
            "适合产品研发阶段摸底测试。",
            desc_en="Two complete EMS benches for ESD, EFT, surge, conducted immunity and "
            "voltage dips - ideal for pre-compliance during development.",
        ),
        Eq(
            code="050201",
            name="信号与频谱分析仪",
            name_en="Signal and spectrum analyser",
            model="N9020B MXA",
            maker="是德科技（Keysight Technologies）",
            country="美国",
            value=860_000,
            since="2021-02-23",
            units=2,
            price=200,
            rules="instant",
            hours="sat",
            indicators="频率范围 10 Hz–26.5 GHz；分析带宽 160 MHz；DANL -166 dBm/Hz；"
            "相位噪声 -114 dBc/Hz@10 kHz；5G NR、LTE、WLAN 解调软件",
            fields="无线模块杂散与占用带宽测试、发射机调制质量（EVM）分析、SRRC 型号核准预测试",
            desc="中端信号分析仪，配 5G NR、LTE 与 WLAN 矢量信号解调选件，可在屏蔽室内"
            "完成无线模块的射频指标预测试。",
            desc_en="Mid-range signal analyser with 5G NR, LTE and WLAN demodulation, "
            "used in a shielded room for RF pre-tests of wireless modules.",
        ),
        Eq(
            code="050202",
            name="矢量网络分析仪",
            name_en="Vector network analyser",
            model="N5247B PNA-X",
            maker="是德科技（Keysight Technologies）",
            country="美国",
            value=3_920_000,
            since="2019-09-17",
            units=1,
            price=800,
            rules="std",
            hours="std",
            min_charge=1600,
            indicators="频率范围 10 MHz–67 GHz；4 端口，内置双信号源；动态范围 >110 dB；"
            "支持噪声系数、增益压缩、互调与变频测量",
            fields="射频器件与天线 S 参数、5G 毫米波模块、功放非线性与噪声系数测试",
            desc="67 GHz 四端口微波网络分析仪，配校准件与探针台接口，可进行在片测量。",
            desc_en="67 GHz four-port microwave network analyser with calibration kits and "
            "probe-station interface for on-wafer measurements.",
        ),
        Eq(
            code="050101",
            name="高带宽数字示波器",
            name_en="High-bandwidth digital oscilloscope",
            model="WaveMaster 830Zi-B",
            maker="力科（Teledyne LeCroy）",
            country="美国",
            value=3_580_000,
            since="2020-06-30",
            units=1,
            price=600,
            rules="half",
            hours="std",
            indicators="模拟带宽 30 GHz；采样率 80 GS/s；存储深度 512 Mpts；上升时间 16 ps；"
            "PCIe 5.0、USB4、DDR5 一致性测试软件",
            fields="高速串行信号完整性、抖动与眼图分析、接口一致性测试",
            desc="30 GHz 实时示波器，配差分探头与夹具去嵌软件，适合高速接口调试与一致性预测试。",
            desc_en="30 GHz real-time oscilloscope with differential probes and fixture "
            "de-embedding for high-speed interface debugging and compliance.",
        ),
        Eq(
            code="050301",
            name="半导体参数分析仪",
            name_en="Semiconductor parameter analyser",
            model="B1500A",
            maker="是德科技（Keysight Technologies）",
            country="日本",
            value=1_350_000,
            since="2019-03-11",
            units=1,
            price=300,
            rules="std",
            hours="std",
            indicators="电流分辨率 0.1 fA（HRSMU）；电压 ±200 V；CV 测量单元 1 kHz–5 MHz；"
            "脉冲发生单元；8 英寸手动探针台",
            fields="MOSFET、二极管 I-V 与 C-V 特性，NBTI、HCI 可靠性评价，"
            "功率器件与第三代半导体器件表征",
            desc="飞安级精度的半导体参数分析仪，配屏蔽探针台，可完成器件直流、电容与脉冲特性测试。",
            desc_en="Femtoamp-level parameter analyser with a shielded probe station for "
            "DC, capacitance and pulsed device characterisation.",
        ),
        Eq(
            code="030302",
            name="高低温湿热试验箱",
            name_en="Temperature and humidity chamber",
            model="PL-3KPH",
            maker="爱斯佩克（ESPEC）",
            country="日本",
            value=580_000,
            since="2017-10-19",
            units=3,
            price=150,
            rules="long",
            hours="24h",
            min_charge=3600,
            indicators="温度范围 -70–150 °C；湿度范围 20–98 %RH；温度波动度 ±0.3 °C；"
            "内容积 408 L；降温速率 ≥1 °C/min",
            fields="电子产品高低温、恒定湿热、交变湿热环境试验（GB/T 2423.1/2/3/4）",
            desc="三台同型号台式温湿度试验箱，24 小时连续运行，按天预约，可带电监测试验。",
            desc_en="Three identical benchtop climatic chambers running around the clock, "
            "booked by the day, with powered monitoring of the device under test.",
        ),
        Eq(
            code="030401",
            name="三维X射线显微镜（工业CT）",
            name_en="3D X-ray microscope (industrial CT)",
            model="Xradia 620 Versa",
            maker="卡尔蔡司（ZEISS）",
            country="美国",
            value=9_850_000,
            since="2022-01-12",
            units=1,
            price=1200,
            rules="heavy",
            hours="std",
            min_charge=2400,
            indicators="空间分辨率 0.5 μm，最小体素 40 nm；射线源 30–160 kV；大工作距离"
            "高分辨（RaaD）；样品尺寸 ≤300 mm，质量 ≤25 kg",
            fields="芯片封装、PCB 焊点与 BGA 空洞无损检测，电池与复合材料内部结构三维成像",
            desc="亚微米分辨率三维 X 射线显微镜，无需切片即可观察封装内部结构，"
            "是电子失效分析的首选手段。",
            desc_en="Sub-micron 3D X-ray microscope that images package internals without "
            "cross-sectioning - the first step of electronic failure analysis.",
        ),
        Eq(
            code="020402",
            name="气相色谱-质谱联用仪",
            name_en="Gas chromatograph-mass spectrometer",
            model="GCMS-QP2020 NX",
            maker="岛津（Shimadzu）",
            country="日本",
            value=760_000,
            since="2021-05-27",
            units=2,
            price=300,
            rules="std",
            hours="std",
            field=Field.ENVIRONMENT,
            indicators="质量范围 m/z 1.5–1090；扫描速度 20,000 u/s；EI/CI 离子源；"
            "PY-3030D 热裂解进样器",
            fields="电子电气产品 RoHS 邻苯二甲酸酯（IEC 62321-8）、多溴联苯与多溴二苯醚、"
            "挥发性有机物（VOC）分析",
            desc="配热裂解-热脱附进样的 GC-MS，可直接筛查塑料部件中的邻苯二甲酸酯与溴系阻燃剂。",
            desc_en="GC-MS with pyrolysis/thermal-desorption inlet to screen plastic parts "
            "directly for phthalates and brominated flame retardants.",
        ),
    ],
    # Ningbo: automotive parts and mechanical testing
    "330200": [
        Eq(
            code="030101",
            name="电子万能材料试验机（100 kN）",
            name_en="Universal testing machine (100 kN)",
            model="AG-X plus 100kN",
            maker="岛津（Shimadzu）",
            country="日本",
            value=960_000,
            since="2019-08-06",
            units=2,
            price=250,
            rules="instant",
            hours="sat",
            indicators="最大试验力 100 kN；力值精度 ±0.5 %；横梁速度 0.0005–1000 mm/min；"
            "视频引伸计；-70–350 °C 环境箱",
            fields="金属材料室温及高低温拉伸（GB/T 228.1、ISO 6892）、弯曲、压缩，"
            "塑料与复合材料力学性能",
            desc="两台 100 kN 电子万能试验机，配非接触视频引伸计与高低温环境箱，周六上午开放。",
            desc_en="Two 100 kN universal testers with non-contact video extensometers and "
            "a temperature chamber; also open on Saturday mornings.",
        ),
        Eq(
            code="030102",
            name="电液伺服疲劳试验机",
            name_en="Servo-hydraulic fatigue testing system",
            model="Landmark 370.10",
            maker="美特斯（MTS Systems）",
            country="美国",
            value=2_380_000,
            since="2018-05-22",
            units=1,
            price=450,
            rules="long",
            hours="24h",
            min_charge=10800,
            indicators="动态载荷 ±100 kN；作动器行程 150 mm；频率 0.01–50 Hz；FlexTest 40 "
            "数字控制器；液压夹具与 1000 °C 高温炉",
            fields="金属材料与零部件高周、低周疲劳（GB/T 3075、GB/T 15248），"
            "断裂韧性与裂纹扩展速率试验",
            desc="100 kN 电液伺服疲劳试验机，可 24 小时无人值守连续运行，适合长周期疲劳寿命试验。",
            desc_en="100 kN servo-hydraulic fatigue system able to run unattended day and "
            "night for long fatigue-life tests.",
        ),
        Eq(
            code="030103",
            name="摆锤冲击试验机",
            name_en="Pendulum impact tester",
            model="RKP450",
            maker="兹韦克罗尔（ZwickRoell）",
            country="德国",
            value=520_000,
            since="2020-11-03",
            units=1,
            price=150,
            rules="instant",
            hours="std",
            indicators="冲击能量 450 J（可换 300 J 摆锤）；冲击速度 5.23 m/s；角度分辨率"
            " 0.1°；-196–+300 °C 自动温控送样",
            fields="金属材料夏比摆锤冲击（GB/T 229、ISO 148-1），韧脆转变温度测定",
            desc="带自动低温送样系统的摆锤冲击试验机，可完成系列温度冲击试验。",
            desc_en="Pendulum impact tester with automatic low-temperature specimen feed "
            "for transition-curve series.",
        ),
        Eq(
            code="030201",
            name="全自动显微维氏硬度计",
            name_en="Automatic micro-Vickers hardness tester",
            model="Wilson VH3300",
            maker="标乐（Buehler）",
            country="美国",
            value=600_000,
            since="2021-09-14",
            units=1,
            price=150,
            rules="instant",
            hours="std",
            indicators="试验力 10 gf–50 kgf；自动转塔与电动载物台；硬化层深度自动测量；"
            "符合 ISO 6507、ASTM E384",
            fields="渗碳、渗氮与感应淬火件有效硬化层深度，焊缝硬度分布，小零件显微硬度",
            desc="全自动维氏硬度计，可按预设路径自动打点测量硬度梯度曲线。",
            desc_en="Fully automatic Vickers tester that follows programmed paths to "
            "measure hardness profiles.",
        ),
        Eq(
            code="030301",
            name="循环腐蚀（盐雾）试验箱",
            name_en="Cyclic corrosion (salt spray) chamber",
            model="Q-FOG CRH1100",
            maker="Q-Lab",
            country="美国",
            value=550_000,
            since="2020-03-19",
            units=2,
            price=150,
            rules="long",
            hours="24h",
            min_charge=3600,
            indicators="内容积 1100 L；中性盐雾（NSS）、乙酸盐雾（AASS）、铜加速乙酸盐雾"
            "（CASS）；湿度控制 20–95 %RH；可编程干湿循环",
            fields="汽车零部件涂镀层耐腐蚀试验（GB/T 10125、ISO 9227），"
            "循环腐蚀（SAE J2334、VDA 233-102）",
            desc="两台大容积循环腐蚀试验箱，全年 24 小时运行，按天预约，可分舱位拼箱试验。",
            desc_en="Two large cyclic corrosion chambers running 24/7 all year, booked by "
            "the day; shared loads possible.",
        ),
        Eq(
            code="030303",
            name="电动振动试验系统（温湿度振动三综合）",
            name_en="Electrodynamic vibration system with climatic chamber",
            model="ES-60-445",
            maker="苏州东菱振动试验仪器有限公司（Dongling）",
            country="中国",
            value=2_860_000,
            since="2019-12-10",
            units=1,
            price=600,
            rules="heavy",
            hours="std",
            min_charge=1200,
            indicators="额定正弦推力 60 kN；频率 2–2500 Hz；最大位移 76 mm（p-p）；"
            "最大加速度 100 g；-70–150 °C 温湿度综合箱",
            fields="汽车电子电气与零部件正弦、随机、冲击振动（GB/T 28046.3、ISO 16750-3），"
            "三综合可靠性试验",
            desc="60 kN 电动振动台与步入式温湿度箱组合，可进行温度-湿度-振动三综合试验。",
            desc_en="60 kN shaker combined with a climatic chamber for temperature, "
            "humidity and vibration tests.",
        ),
        Eq(
            code="040101",
            name="三坐标测量机",
            name_en="Coordinate measuring machine",
            model="PRISMO 7/12/7",
            maker="卡尔蔡司（ZEISS）",
            country="德国",
            value=3_480_000,
            since="2018-07-25",
            units=1,
            price=500,
            rules="std",
            hours="std",
            training="自主上机须持有蔡司 CALYPSO 编程培训证书，否则由本室计量工程师编程"
            "测量。 Self-operation needs a ZEISS CALYPSO programming certificate; "
            "otherwise our metrology engineer programs and measures.",
            indicators="测量范围 700×1200×700 mm；MPE_E = 0.9 + L/350 μm；VAST gold 扫描"
            "测头；恒温间 20±0.5 °C",
            fields="发动机缸体、变速箱壳体、模具与精密零件尺寸及形位公差（GD&T），"
            "首件检验与逆向测量",
            desc="高精度桥式三坐标，位于恒温计量室，可出具 CNAS 认可的尺寸检测报告。",
            desc_en="High-accuracy bridge CMM in a temperature-controlled room; "
            "CNAS-accredited dimensional reports.",
        ),
        Eq(
            code="040103",
            name="圆度圆柱度测量仪",
            name_en="Roundness and cylindricity tester",
            model="Talyrond 565H",
            maker="泰勒霍普森（Taylor Hobson）",
            country="英国",
            value=1_920_000,
            since="2021-04-16",
            units=1,
            price=350,
            rules="std",
            hours="std",
            indicators="主轴回转精度 ±(0.02 μm + 0.0003 μm/mm)；立柱高度 500 mm；"
            "圆度、圆柱度、同轴度、平面度与表面粗糙度",
            fields="曲轴、凸轮轴、轴承、喷油嘴等精密回转零件形状误差测量",
            desc="超高精度圆度仪，可一次装夹完成形状误差与表面粗糙度测量。",
            desc_en="Ultra-precise roundness system measuring form and surface roughness "
            "in one set-up.",
        ),
        Eq(
            code="030401",
            name="工业CT",
            name_en="Industrial CT scanner",
            model="FF35 CT",
            maker="依科视朗（YXLON / COMET）",
            country="德国",
            value=6_850_000,
            since="2020-09-28",
            units=1,
            price=900,
            rules="heavy",
            hours="std",
            min_charge=1800,
            indicators="双射线源：225 kV 微焦点 + 190 kV 纳米焦点；最小焦点 <0.8 μm；"
            "最大样品 Ø500×700 mm、50 kg；16 位平板探测器",
            fields="铝合金铸件气孔与缩松、注塑件内部缺陷无损检测，壁厚分析与 CAD 比对",
            desc="双射线源工业 CT，兼顾大铸件穿透与小零件高分辨扫描，"
            "提供缺陷分析与实体-模型比对报告。",
            desc_en="Dual-tube industrial CT for both large castings and small high-"
            "resolution parts, with defect analysis and CAD comparison reports.",
        ),
    ],
    # Xiamen: biomedicine
    "350200": [
        Eq(
            code="060101",
            name="流式细胞分选仪",
            name_en="Flow cytometry cell sorter",
            model="FACSAria III",
            maker="碧迪医疗（BD Biosciences）",
            country="美国",
            value=4_260_000,
            since="2019-05-20",
            units=1,
            price=800,
            rules="heavy",
            hours="std",
            min_charge=1600,
            training="分选前须提交样品生物安全信息（仅限 BSL-1/BSL-2 样品），由本室技术员"
            "操作。 Submit biosafety information beforehand (BSL-1/BSL-2 samples "
            "only); sorting is run by our technician.",
            indicators="4 激光（405/488/561/633 nm），18 色检测；分选速度 ≥25,000 个/秒；"
            "分选纯度 >98 %；4 路分选，单细胞分选至 96/384 孔板",
            fields="免疫细胞亚群分选、干细胞与 CAR-T 细胞纯化、单细胞克隆筛选",
            desc="四激光高速分选仪，置于生物安全柜内，可进行无菌分选与单细胞克隆。",
            desc_en="Four-laser high-speed sorter inside a biosafety cabinet for sterile "
            "sorting and single-cell cloning.",
        ),
        Eq(
            code="060101",
            name="流式细胞仪",
            name_en="Flow cytometer",
            model="CytoFLEX S",
            maker="贝克曼库尔特（Beckman Coulter）",
            country="中国",
            value=1_120_000,
            since="2021-08-12",
            units=2,
            price=300,
            rules="instant",
            hours="sat",
            indicators="4 激光 13 色；荧光灵敏度 FITC <30 MESF；纳米颗粒检测 ≥80 nm；"
            "96 孔板自动上样",
            fields="免疫表型分析、细胞周期与凋亡检测、细胞因子多重检测、外泌体分析",
            desc="两台台式多色流式细胞仪，用户经培训后可自助上机，周六上午开放。",
            desc_en="Two benchtop multicolour cytometers for trained self-service users; "
            "also open on Saturday mornings.",
        ),
        Eq(
            code="060102",
            name="实时荧光定量PCR仪",
            name_en="Real-time PCR system",
            model="LightCycler 480 II",
            maker="罗氏诊断（Roche Diagnostics）",
            country="瑞士",
            value=580_000,
            since="2018-10-30",
            units=2,
            price=150,
            rules="instant",
            hours="sat",
            indicators="96/384 孔模块可换；5 激发 6 检测通道；温度均一性 ±0.5 °C；"
            "高分辨熔解曲线（HRM）",
            fields="基因表达定量、病原体核酸检测、SNP 分型、体外诊断试剂性能验证",
            desc="高通量荧光定量 PCR 平台，位于独立 PCR 分区实验室。",
            desc_en="High-throughput qPCR platform in a dedicated, zoned PCR laboratory.",
        ),
        Eq(
            code="060103",
            name="高内涵成像分析系统",
            name_en="High-content imaging system",
            model="Operetta CLS",
            maker="珀金埃尔默（PerkinElmer / Revvity）",
            country="德国",
            value=4_580_000,
            since="2022-06-08",
            units=1,
            price=700,
            rules="std",
            hours="std",
            indicators="转盘共聚焦与宽场成像；水浸物镜 20×/40×/63×；8 色 LED 光源；"
            "活细胞环境控制（37 °C、5 % CO₂）；Harmony 分析软件",
            fields="药物筛选细胞表型分析、细胞毒性与凋亡评价、3D 类器官成像",
            desc="共聚焦高内涵成像系统，可对活细胞与类器官进行长时程自动成像与定量分析。",
            desc_en="Confocal high-content imager for long automated live-cell and "
            "organoid imaging with quantitative analysis.",
        ),
        Eq(
            code="060201",
            name="高通量基因测序仪",
            name_en="High-throughput DNA sequencer",
            model="NextSeq 2000",
            maker="因美纳（Illumina）",
            country="美国",
            value=5_260_000,
            since="2022-11-15",
            units=1,
            price=1000,
            rules="heavy",
            hours="std",
            min_charge=8000,
            indicators="单次通量最高 360 Gb（P4 flow cell）；读长 2×300 bp；运行时间 11–48 h；"
            "Q30 ≥85 %（2×150 bp）",
            fields="全基因组与外显子测序、转录组测序、微生物宏基因组、细胞治疗产品遗传稳定性检测",
            desc="中高通量测序平台，提供文库质检、上机与下机数据质控全流程服务。",
            desc_en="Mid-to-high-throughput sequencer with library QC, sequencing runs and "
            "data QC as a full service.",
        ),
        Eq(
            code="020403",
            name="高分辨液相色谱-质谱联用仪",
            name_en="High-resolution LC-MS",
            model="Orbitrap Exploris 480",
            maker="赛默飞世尔科技（Thermo Fisher Scientific）",
            country="德国",
            value=6_480_000,
            since="2021-12-02",
            units=1,
            price=1200,
            rules="heavy",
            hours="std",
            min_charge=2400,
            indicators="分辨率 480,000 FWHM（m/z 200）；质量精度 <1 ppm；质量范围 "
            "m/z 40–8000；扫描速度 40 Hz；Vanquish UHPLC 耐压 1500 bar",
            fields="生物药肽图与完整分子量分析、药物杂质结构鉴定、代谢组学与蛋白质组学",
            desc="静电场轨道阱高分辨质谱，配超高效液相，适合生物药表征与未知杂质鉴定。",
            desc_en="Orbitrap high-resolution MS with UHPLC for biologics characterisation "
            "and identification of unknown impurities.",
        ),
        Eq(
            code="020202",
            name="超高效液相色谱仪",
            name_en="Ultra-high-performance LC system",
            model="ACQUITY UPLC H-Class PLUS",
            maker="沃特世（Waters）",
            country="美国",
            value=680_000,
            since="2020-04-27",
            units=3,
            price=200,
            rules="instant",
            hours="std",
            indicators="四元溶剂管理器，耐压 15,000 psi；PDA 检测器 190–800 nm；"
            "荧光检测器；样品室控温 4–40 °C",
            fields="原料药与制剂含量、有关物质测定（中国药典、USP 方法），方法开发与验证",
            desc="三台 UPLC，满足 GMP 数据完整性要求（Empower 3 网络版）。",
            desc_en="Three UPLC systems meeting GMP data-integrity requirements "
            "(networked Empower 3).",
        ),
        Eq(
            code="020801",
            name="600 MHz 核磁共振波谱仪",
            name_en="600 MHz NMR spectrometer",
            model="AVANCE NEO 600",
            maker="布鲁克（Bruker BioSpin）",
            country="瑞士",
            value=12_800_000,
            since="2020-12-18",
            units=1,
            price=1000,
            rules="heavy",
            hours="std",
            min_charge=1000,
            training="磁体 5 高斯线内禁止携带铁磁性物品，佩戴心脏起搏器者不得进入。 No "
            "ferromagnetic objects inside the 5-gauss line; no entry with a "
            "pacemaker.",
            indicators="1H 频率 600.13 MHz；TCI 超低温探头（1H 灵敏度 ≥7000:1）；"
            "变温 -150–+150 °C；60 位自动进样器",
            fields="小分子结构鉴定、多肽与蛋白质结构研究、药物与辅料定量核磁（qNMR）",
            desc="配超低温探头的 600 MHz 核磁，灵敏度高，可完成微量样品的二维谱测定。",
            desc_en="600 MHz NMR with a cryoprobe: high sensitivity for 2D spectra of "
            "small sample amounts.",
        ),
        Eq(
            code="020401",
            name="电感耦合等离子体质谱仪",
            name_en="ICP mass spectrometer",
            model="7900",
            maker="安捷伦（Agilent Technologies）",
            country="日本",
            value=1_880_000,
            since="2019-07-04",
            units=1,
            price=500,
            rules="std",
            hours="std",
            indicators="质量范围 2–260 u；检出限 ng/L 级；八极杆碰撞反应池（He 模式）；"
            "高基质进样系统（TDS 至 25 %）",
            fields="药品元素杂质（ICH Q3D、中国药典 0412），生物样本与医疗器械浸提液重金属测定",
            desc="ICP-MS 用于药品与医疗器械元素杂质检测，方法经过验证，可出具 CMA 报告。",
            desc_en="ICP-MS for elemental impurities in drugs and medical devices with "
            "validated methods and CMA-stamped reports.",
        ),
    ],
    # Hefei: batteries and energy storage
    "340100": [
        Eq(
            code="050302",
            name="电池模组/电池包充放电测试系统",
            name_en="Battery module and pack test system",
            model="17020E",
            maker="致茂电子（Chroma ATE）",
            country="中国",
            value=2_280_000,
            since="2020-07-22",
            units=2,
            price=400,
            rules="long",
            hours="24h",
            min_charge=9600,
            indicators="电压 0–1000 V，电流 ±300 A，功率 ±250 kW 能量回馈；电压电流精度 "
            "±0.02 % FS；NEDC/WLTC 工况模拟；CAN 与 BMS 通讯",
            fields="动力电池包容量、能量、倍率、工况循环与 BMS 功能测试（GB/T 31467、GB 38031）",
            desc="两套能量回馈式电池包测试系统，配防爆测试舱与温控，24 小时运行。",
            desc_en="Two regenerative pack test systems with explosion-proof test bays and "
            "thermal control, running 24/7.",
        ),
        Eq(
            code="050302",
            name="电芯充放电测试柜（512 通道）",
            name_en="Cell cycling test system (512 channels)",
            model="CT-4016-5V12A-S1",
            maker="深圳市新威尔电子有限公司（Neware）",
            country="中国",
            value=950_000,
            since="2021-03-30",
            units=3,
            price=150,
            rules="long",
            hours="24h",
            min_charge=3600,
            indicators="每台 512 通道；电压 0–5 V，电流 0–12 A；精度 ±0.05 % FS；"
            "采样间隔 10 ms；25 °C 恒温柜",
            fields="锂离子与钠离子电池电芯循环寿命、倍率性能、存储与 DCIR 测试",
            desc="三台多通道电芯测试柜，适合长周期循环寿命测试，按天预约。",
            desc_en="Three multi-channel cell cyclers for long cycle-life tests, booked by "
            "the day.",
        ),
        Eq(
            code="020101",
            name="多通道电化学工作站",
            name_en="Multichannel electrochemical workstation",
            model="VMP-3e",
            maker="比奥罗杰（BioLogic）",
            country="法国",
            value=860_000,
            since="2019-10-11",
            units=1,
            price=200,
            rules="instant",
            hours="std",
            indicators="16 通道；电位 ±10 V，电流 ±400 mA（可扩至 10 A）；"
            "EIS 10 μHz–1 MHz；电流分辨率 760 fA",
            fields="电极材料循环伏安、交流阻抗（EIS）、恒电流间歇滴定（GITT）与腐蚀电化学测试",
            desc="16 通道恒电位仪，每通道均带阻抗功能，配手套箱内电池夹具。",
            desc_en="16-channel potentiostat with impedance on every channel and cell "
            "holders inside a glovebox.",
        ),
        Eq(
            code="020501",
            name="原位X射线衍射仪",
            name_en="In-situ X-ray diffractometer",
            model="SmartLab 9kW",
            maker="理学（Rigaku）",
            country="日本",
            value=3_620_000,
            since="2020-11-25",
            units=1,
            price=600,
            rules="std",
            hours="std",
            indicators="9 kW 转靶 Cu 光源；HyPix-3000 二维探测器；原位电池附件"
            "（同步充放电）；变温样品台 -190–1100 °C",
            fields="正负极材料物相与晶格参数、充放电过程原位结构演变、薄膜与织构分析",
            desc="转靶高功率 XRD，配原位电池池，可在充放电过程中实时采集衍射谱。",
            desc_en="High-power rotating-anode XRD with an in-situ cell to collect patterns "
            "during charge and discharge.",
        ),
        Eq(
            code="020601",
            name="冷场发射扫描电子显微镜",
            name_en="Cold field-emission scanning electron microscope",
            model="Regulus 8230",
            maker="日立高新（Hitachi High-Tech）",
            country="日本",
            value=3_880_000,
            since="2021-06-17",
            units=1,
            price=600,
            rules="half",
            hours="sat",
            indicators="分辨率 0.7 nm@15 kV、0.9 nm@1 kV；加速电压 0.01–30 kV；"
            "Oxford X-Max 80 能谱；惰性气氛转移仓",
            fields="电池正负极、隔膜与固态电解质形貌和元素分布，锂枝晶观察（惰性转移）",
            desc="冷场发射扫描电镜，配惰性气氛样品转移，可观察对空气敏感的电池材料。",
            desc_en="Cold FE-SEM with inert-gas sample transfer for air-sensitive battery "
            "materials.",
        ),
        Eq(
            code="030302",
            name="防爆型高低温试验箱",
            name_en="Explosion-proof temperature chamber",
            model="ClimeEvent C/1000/70/5",
            maker="伟思富奇（Weiss Technik）",
            country="德国",
            value=880_000,
            since="2022-03-08",
            units=2,
            price=200,
            rules="std",
            hours="sat",
            indicators="温度范围 -70–180 °C；内容积 1000 L；温变速率 5 K/min；"
            "泄压口与气体监测联锁（EUCAR 危险等级 ≤4）",
            fields="电芯与模组高低温充放电、温度循环、热冲击等环境可靠性试验"
            "（GB/T 31485、GB 38031）",
            desc="两台电池专用防爆温箱，可与充放电设备联动进行温度-电性能试验。",
            desc_en="Two battery-rated explosion-proof chambers linked to cyclers for "
            "combined thermal and electrical tests.",
        ),
        Eq(
            code="030303",
            name="电池包振动试验系统",
            name_en="Battery pack vibration test system",
            model="DC-6000-60",
            maker="苏州苏试试验集团（Sushi Testing）",
            country="中国",
            value=1_760_000,
            since="2019-02-26",
            units=1,
            price=500,
            rules="heavy",
            hours="std",
            min_charge=1000,
            indicators="正弦推力 60 kN；频率 5–2500 Hz；滑台 1500×1500 mm；三轴向试验；"
            "防爆隔离舱与消防喷淋联锁",
            fields="动力电池包随机振动与机械冲击（GB 38031、UN 38.3 T3），储能系统运输振动试验",
            desc="大台面振动系统，位于防爆隔离舱内，可对满电状态的电池包进行试验。",
            desc_en="Large-table shaker in an explosion-proof bay, rated for fully charged "
            "battery packs.",
        ),
        Eq(
            code="020303",
            name="电感耦合等离子体发射光谱仪",
            name_en="ICP optical emission spectrometer",
            model="iCAP PRO XP",
            maker="赛默飞世尔科技（Thermo Fisher Scientific）",
            country="美国",
            value=920_000,
            since="2022-08-19",
            units=1,
            price=350,
            rules="instant",
            hours="std",
            indicators="波长范围 167–852 nm；垂直炬管双向观测；全谱同步采集；耐 HF 进样系统",
            fields="正极材料（NCM、LFP）主元素配比与杂质、电解液与回收料金属元素分析",
            desc="全谱直读 ICP-OES，配耐氢氟酸进样系统，适合电池材料元素分析。",
            desc_en="Full-spectrum ICP-OES with an HF-resistant sample introduction, "
            "suited to battery materials.",
        ),
        Eq(
            code="020901",
            name="激光粒度分析仪",
            name_en="Laser particle size analyser",
            model="Mastersizer 3000",
            maker="马尔文帕纳科（Malvern Panalytical）",
            country="英国",
            value=580_000,
            since="2018-11-06",
            units=1,
            price=180,
            rules="instant",
            hours="std",
            indicators="测量范围 0.01–3500 μm；湿法 Hydro EV 与干法 Aero S 分散；"
            "重复性 <0.5 %（D50）",
            fields="正负极粉体、导电剂与陶瓷粉体粒度分布测定（GB/T 19077）",
            desc="干湿法两用激光粒度仪，适合电池粉体来料检验与工艺监控。",
            desc_en="Wet and dry laser diffraction analyser for incoming inspection and "
            "process control of battery powders.",
        ),
    ],
}

# ---------------------------------------------------------------------------------------------
# Expert time
# ---------------------------------------------------------------------------------------------

EXPERTS: dict[str, list[Ex]] = {
    "320500": [
        Ex(
            name="陈志明研究员：电子显微分析与材料失效诊断",
            name_en="Prof. Chen Zhiming: electron microscopy and failure diagnosis",
            expert="陈志明",
            title="研究员（Research Professor）",
            fields="透射与扫描电子显微学、纳米材料结构表征、金属与半导体材料失效分析 / "
            "TEM and SEM, nanomaterial structure, failure analysis of metals and "
            "semiconductors",
            qualifications="博士（中国科学院金属研究所），从事电子显微学研究 20 年；全国微束"
            "分析标准化技术委员会委员；主持制定国家标准 3 项。 PhD (Institute "
            "of Metal Research, CAS); 20 years in electron microscopy; member "
            "of SAC/TC 38; led three national standards.",
            languages="中文、English",
            price=3000,
            rules="expert",
            hours="std",
            photo=True,
            desc="针对材料微观结构与失效问题提供表征方案设计、电镜数据解读与失效机理诊断，"
            "每次咨询 1–2 小时，可现场或线上进行。",
            desc_en="Characterisation planning, interpretation of electron-microscopy data "
            "and diagnosis of failure mechanisms; 1-2 hour sessions on site or "
            "online.",
        ),
        Ex(
            name="沈慧敏教授级高工：纳米材料检测方法与标准",
            name_en="Shen Huimin: test methods and standards for nanomaterials",
            expert="沈慧敏",
            title="教授级高级工程师（Professorate Senior Engineer）",
            fields="纳米材料检测方法、标准物质研制、实验室能力验证 / Nanomaterial test "
            "methods, reference materials, proficiency testing",
            qualifications="全国纳米技术标准化技术委员会（SAC/TC 279）委员；CNAS 技术评审员。"
            " Member of SAC/TC 279 (nanotechnology); CNAS technical assessor.",
            languages="中文、English",
            price=2500,
            rules="expert",
            hours="std",
            desc="帮助企业选择适用的纳米材料检测标准、建立企业标准和检测方法，"
            "并指导 CNAS 认可准备。",
            desc_en="Helps firms choose applicable nanomaterial test standards, write "
            "company standards and methods, and prepare for CNAS accreditation.",
        ),
        Ex(
            name="顾建华高工：高分子材料热分析与老化评价",
            name_en="Gu Jianhua: thermal analysis and ageing of polymers",
            expert="顾建华",
            title="高级工程师（Senior Engineer）",
            fields="高分子材料热分析、老化寿命评估、配方问题诊断 / Polymer thermal "
            "analysis, ageing and lifetime estimation, formulation troubleshooting",
            qualifications="硕士，从事工程塑料检测 15 年；参与起草 GB/T 19466 系列标准。"
            " MSc; 15 years testing engineering plastics; co-drafted parts of "
            "GB/T 19466.",
            languages="中文",
            price=1800,
            rules="expert_quick",
            hours="std",
            desc="解读 DSC、TGA 与老化试验数据，评估材料寿命并给出改进建议。",
            desc_en="Interprets DSC, TGA and ageing data, estimates service life and "
            "suggests improvements.",
        ),
    ],
    "440300": [
        Ex(
            name="黄伟东高工：EMC 设计整改与认证咨询",
            name_en="Huang Weidong: EMC design fixes and certification",
            expert="黄伟东",
            title="高级工程师（Senior Engineer）",
            fields="电磁兼容设计与整改、CCC/CE/FCC 认证、汽车电子 EMC / EMC design and "
            "remediation, CCC/CE/FCC certification, automotive EMC",
            qualifications="iNARTE 认证 EMC 工程师；15 年 EMC 测试与整改经验；"
            "处理整改案例 800 余个。 iNARTE-certified EMC engineer; 15 years "
            "of EMC testing; more than 800 remediation cases.",
            languages="中文、English、粤语",
            price=3500,
            rules="expert",
            hours="sat",
            photo=True,
            desc="根据预扫或正式测试结果定位超标原因，给出 PCB 布局、滤波与屏蔽整改方案，"
            "可带样品在暗室现场调试。",
            desc_en="Finds the causes of failed emissions from pre-scan or test results and "
            "proposes PCB layout, filtering and shielding fixes; can debug with "
            "samples in the chamber.",
        ),
        Ex(
            name="郑丽娜教授级高工：无线射频一致性与型号核准",
            name_en="Zheng Lina: RF conformance and type approval",
            expert="郑丽娜",
            title="教授级高级工程师（Professorate Senior Engineer）",
            fields="5G/LTE/Wi-Fi 射频一致性、SRRC 型号核准、CTA 进网 / RF conformance "
            "for 5G, LTE and Wi-Fi; SRRC type approval; CTA network access",
            qualifications="博士，3GPP RAN4 工作组参会代表；CNAS 技术评审员。 PhD; "
            "3GPP RAN4 delegate; CNAS technical assessor.",
            languages="中文、English",
            price=3000,
            rules="expert",
            hours="std",
            desc="为无线终端与模组的射频设计、认证路线与测试计划提供咨询。",
            desc_en="Advice on RF design, certification routes and test plans for wireless "
            "devices and modules.",
        ),
    ],
    "330200": [
        Ex(
            name="周国平正高工：汽车零部件疲劳耐久与可靠性",
            name_en="Zhou Guoping: fatigue durability and reliability of auto parts",
            expert="周国平",
            title="正高级工程师（Professorate Senior Engineer）",
            fields="零部件疲劳与耐久试验设计、载荷谱编制、可靠性评估 / Fatigue and "
            "durability test design, load spectra, reliability assessment",
            qualifications="博士（同济大学），原整车厂试验中心主任，从事耐久试验 25 年。"
            " PhD (Tongji University); former head of an OEM test centre; "
            "25 years in durability testing.",
            languages="中文、English、Deutsch",
            price=2800,
            rules="expert",
            hours="std",
            photo=True,
            desc="协助企业制定台架耐久试验方案、分析疲劳失效并评估零部件寿命。",
            desc_en="Helps plan bench durability tests, analyse fatigue failures and "
            "estimate component life.",
        ),
        Ex(
            name="叶振宇高工：几何量计量、GD&T 与测量系统分析",
            name_en="Ye Zhenyu: dimensional metrology, GD&T and MSA",
            expert="叶振宇",
            title="高级工程师（Senior Engineer）",
            fields="几何量计量、形位公差（GD&T）标注与检测、测量系统分析（MSA） / "
            "Dimensional metrology, GD&T, measurement system analysis",
            qualifications="一级注册计量师；ASME Y14.5 GDTP 认证。 Registered Metrologist "
            "(Class 1); ASME GDTP certified.",
            languages="中文、English",
            price=1500,
            rules="expert_quick",
            hours="sat",
            desc="解读图纸公差要求，设计检测方案与夹具，开展 MSA 与量具 R&R 分析。",
            desc_en="Reads drawing tolerances, designs inspection plans and fixtures, and "
            "runs MSA and gauge R&R studies.",
        ),
        Ex(
            name="钱晓梅高工：金属材料失效分析与腐蚀防护",
            name_en="Qian Xiaomei: failure analysis and corrosion protection of metals",
            expert="钱晓梅",
            title="高级工程师（Senior Engineer）",
            fields="断口分析、金相分析、涂镀层腐蚀防护 / Fractography, metallography, "
            "coatings and corrosion protection",
            qualifications="中国机械工程学会失效分析分会会员；主持失效分析项目 300 余项。"
            " Member of the failure analysis branch of CMES; led more than "
            "300 failure investigations.",
            languages="中文",
            price=2000,
            rules="expert",
            hours="std",
            desc="对断裂、腐蚀等失效零件进行原因分析，提出材料、工艺与防护改进建议。",
            desc_en="Investigates fractured or corroded parts and recommends changes to "
            "material, process and protection.",
        ),
    ],
    "350200": [
        Ex(
            name="苏雅琳研究员：生物药质量研究与注册申报",
            name_en="Prof. Su Yalin: biologics quality and regulatory filing",
            expert="苏雅琳",
            title="研究员（Research Professor）",
            fields="生物药质量研究、分析方法验证、ICH 与 NMPA 申报 / Biologics quality "
            "studies, method validation, ICH and NMPA filings",
            qualifications="博士（厦门大学），执业药师，参与生物类似药申报 10 余项。 PhD "
            "(Xiamen University); licensed pharmacist; more than 10 "
            "biosimilar filings.",
            languages="中文、English",
            price=4000,
            rules="expert",
            hours="std",
            photo=True,
            desc="指导生物药质量属性研究、可比性研究设计与申报资料中药学部分的撰写。",
            desc_en="Guides quality-attribute studies, comparability design and the CMC "
            "sections of regulatory dossiers.",
        ),
        Ex(
            name="蔡明德主任技师：体外诊断试剂性能评价",
            name_en="Cai Mingde: performance evaluation of IVD reagents",
            expert="蔡明德",
            title="主任技师（Chief Technologist）",
            fields="体外诊断试剂分析性能评价、CLSI EP 系列方法、注册检验 / Analytical "
            "performance of IVD reagents, CLSI EP protocols, registration testing",
            qualifications="医学检验硕士，三甲医院检验科工作 20 年。 MSc in laboratory "
            "medicine; 20 years in a tertiary hospital laboratory.",
            languages="中文、闽南语",
            price=2500,
            rules="expert_quick",
            hours="std",
            desc="为体外诊断试剂设计精密度、正确度、线性与参考区间等性能评价方案。",
            desc_en="Designs precision, trueness, linearity and reference-interval studies "
            "for IVD reagents.",
        ),
    ],
    "340100": [
        Ex(
            name="杨国栋研究员：动力电池安全与热失控防护",
            name_en="Prof. Yang Guodong: traction battery safety and thermal runaway",
            expert="杨国栋",
            title="研究员（Research Professor）",
            fields="电池安全、热失控与热扩散、GB 38031 安全要求 / Battery safety, thermal "
            "runaway and propagation, GB 38031 requirements",
            qualifications="博士（中国科学技术大学），参与 GB 38031 标准修订。 PhD (USTC); "
            "contributed to the revision of GB 38031.",
            languages="中文、English",
            price=3500,
            rules="expert",
            hours="std",
            desc="评估电芯与电池包安全设计，制定热失控与热扩散试验方案并解读结果。",
            desc_en="Reviews cell and pack safety designs, plans thermal-runaway and "
            "propagation tests and interprets the results.",
        ),
        Ex(
            name="方婧高工：储能系统并网检测与 BMS 测试",
            name_en="Fang Jing: grid connection and BMS testing of energy storage",
            expert="方婧",
            title="高级工程师（Senior Engineer）",
            fields="电化学储能系统并网检测、BMS 功能测试、GB/T 36276 与 GB/T 36547 / "
            "Grid-connection tests of battery storage, BMS testing",
            qualifications="硕士，从事储能检测 10 年；CNAS 授权签字人。 MSc; 10 years of "
            "energy-storage testing; CNAS authorised signatory.",
            languages="中文、English",
            price=2500,
            rules="expert_quick",
            hours="std",
            desc="为储能系统与 BMS 产品梳理并网检测项目、准备试验样品与技术文件。",
            desc_en="Lists the grid-connection tests for storage systems and BMS products "
            "and helps prepare samples and documentation.",
        ),
    ],
}

# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------

DATASETS: dict[str, list[Ds]] = {
    "320500": [
        Ds(
            name="纳米材料标准样品表征数据集",
            name_en="Characterisation data of nanomaterial reference samples",
            licence="CC BY-NC 4.0",
            data_format="TIFF, CSV, JSON",
            data_size="38 GB",
            mode=AccessMode.DOWNLOAD,
            days=180,
            price=6000,
            desc="120 余种纳米粉体与薄膜标准样品的 SEM/TEM 图像、XRD 图谱、BET 比表面积"
            "和粒径分布原始数据及不确定度评定，可用于方法比对与仪器校准。",
            desc_en="SEM/TEM images, XRD patterns, BET surface areas and size distributions "
            "of more than 120 nanopowder and film reference samples, with "
            "uncertainty budgets - for method comparison and calibration.",
        ),
        Ds(
            name="工程塑料热分析与老化性能数据库",
            name_en="Thermal analysis and ageing database of engineering plastics",
            licence=PLATFORM_LICENCE,
            data_format="CSV, XLSX",
            data_size="2.4 GB",
            mode=AccessMode.API,
            days=365,
            price=12000,
            desc="涵盖 60 个牌号工程塑料的 DSC、TGA 曲线及热氧、湿热与氙灯老化后的力学"
            "性能保持率，提供 REST API 查询。",
            desc_en="DSC and TGA curves of 60 engineering-plastic grades with property "
            "retention after thermal, damp-heat and xenon ageing; REST API access.",
        ),
    ],
    "440300": [
        Ds(
            name="电子产品 EMC 整改案例库",
            name_en="EMC remediation case library for electronic products",
            licence=PLATFORM_LICENCE,
            data_format="PDF, JSON",
            data_size="860 MB",
            mode=AccessMode.DOWNLOAD,
            days=365,
            price=8000,
            desc="1,200 个脱敏的 EMC 超标与整改案例，含测试曲线、超标原因与整改措施，"
            "按产品类别与标准检索。",
            desc_en="1,200 anonymised EMC failures and their fixes with test plots, causes "
            "and measures, searchable by product type and standard.",
        ),
        Ds(
            name="5G 终端射频一致性测试数据集",
            name_en="5G device RF conformance test dataset",
            licence="CC BY-NC-ND 4.0",
            data_format="HDF5, CSV",
            data_size="120 GB",
            mode=AccessMode.API,
            days=180,
            price=20000,
            desc="5G NR 终端发射机与接收机指标（EVM、ACLR、灵敏度等）测试数据，覆盖 FR1 主要频段。",
            desc_en="Transmitter and receiver results (EVM, ACLR, sensitivity and more) of "
            "5G NR devices across the main FR1 bands.",
        ),
    ],
    "330200": [
        Ds(
            name="汽车用金属材料疲劳性能（S-N 曲线）数据库",
            name_en="Fatigue (S-N curve) database of automotive metals",
            licence=PLATFORM_LICENCE,
            data_format="CSV, XLSX",
            data_size="1.2 GB",
            mode=AccessMode.API,
            days=365,
            price=15000,
            desc="汽车常用钢、铝合金与铸铁材料的拉伸、疲劳 S-N 与 ε-N 曲线数据，"
            "可用于 CAE 耐久仿真。",
            desc_en="Tensile, S-N and strain-life data of common automotive steels, "
            "aluminium alloys and cast irons for CAE durability simulation.",
        ),
        Ds(
            name="涂镀层盐雾与循环腐蚀试验数据集",
            name_en="Salt spray and cyclic corrosion test dataset of coatings",
            licence="CC BY 4.0",
            data_format="CSV, JPEG",
            data_size="24 GB",
            mode=AccessMode.DOWNLOAD,
            days=90,
            price=3000,
            desc="常见锌系镀层、电泳涂层在中性盐雾与循环腐蚀试验中的评级结果与定期照片。",
            desc_en="Ratings and periodic photos of zinc platings and e-coats in neutral "
            "salt spray and cyclic corrosion tests.",
        ),
    ],
    "350200": [
        Ds(
            name="体外诊断试剂性能评价参考数据集",
            name_en="Reference dataset for IVD reagent performance evaluation",
            licence=PLATFORM_LICENCE,
            data_format="CSV, XLSX",
            data_size="5.6 GB",
            mode=AccessMode.DOWNLOAD,
            days=180,
            price=10000,
            desc="脱敏的临床样本检测结果与参考方法比对数据，用于体外诊断试剂"
            "精密度、正确度与参考区间研究。",
            desc_en="Anonymised clinical sample results compared with reference methods, "
            "for precision, trueness and reference-interval studies of IVD "
            "reagents.",
        ),
        Ds(
            name="药物杂质高分辨质谱谱图库",
            name_en="High-resolution MS spectral library of drug impurities",
            licence=PLATFORM_LICENCE,
            data_format="mzML, MSP",
            data_size="16 GB",
            mode=AccessMode.API,
            days=365,
            price=30000,
            desc="3,500 余个药物杂质与降解产物的高分辨 MS/MS 谱图，支持 API 检索匹配。",
            desc_en="High-resolution MS/MS spectra of more than 3,500 drug impurities and "
            "degradation products, with API search and matching.",
        ),
    ],
    "340100": [
        Ds(
            name="锂离子电池循环老化数据集",
            name_en="Lithium-ion cell cycle ageing dataset",
            licence="CC BY-NC 4.0",
            data_format="Parquet, CSV",
            data_size="210 GB",
            mode=AccessMode.API,
            days=365,
            price=25000,
            desc="420 只磷酸铁锂与三元电芯在不同温度、倍率下的全寿命循环数据，"
            "含容量、内阻与 EIS 记录。",
            desc_en="Full-life cycling data of 420 LFP and NCM cells at several "
            "temperatures and C-rates, with capacity, resistance and EIS records.",
        ),
    ],
}

# ---------------------------------------------------------------------------------------------
# Seeding
# ---------------------------------------------------------------------------------------------


def seed_demo_listings() -> int:
    """Create the demo listings of every active demo lab that has none yet; returns the count."""
    seed_categories()
    categories = {c.code: c for c in db.session.scalars(sa.select(InstrumentCategory))}
    labs = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind == OrgKind.LAB, Organisation.status == OrgStatus.ACTIVE)
        .order_by(Organisation.id)
    ).all()
    busy = set(db.session.scalars(sa.select(Listing.lab_id).distinct()))
    created = 0
    for lab in labs:
        city = lab.region.code if lab.region else None
        if city in LAB_PROFILES and lab.id not in busy:
            created += _seed_lab(lab, city, categories, created)
    db.session.flush()
    return created


def _seed_lab(lab: Organisation, city: str, categories: dict, start: int) -> int:
    prefix, field = LAB_PROFILES[city]
    k = start
    for i, eq in enumerate(EQUIPMENT.get(city, [])):
        _equipment(lab, prefix, field, i, eq, categories[eq.code], k)
        k += 1
    for ex in EXPERTS.get(city, []):
        _expert(lab, field, ex, categories["080101"], k)
        k += 1
    for ds in DATASETS.get(city, []):
        _dataset(lab, field, ds, categories["070101"], k)
        k += 1
    return k - start


def _listing(lab, kind, field, category, k, **values) -> Listing:
    """A published listing with the lab's contact and a publication date in recent months."""
    published = utcnow() - timedelta(days=4 + (k * 53) % 170, hours=(k * 7) % 24)
    listing = Listing(
        lab=lab,
        kind=kind,
        status=ListingStatus.PUBLISHED,
        field=field,
        category_code=category.code,
        contact_name=lab.contact_name,
        contact_phone=lab.contact_phone,
        contact_email=lab.contact_email,
        created_dt=published - timedelta(days=2 + k % 5),
        updated_dt=published,
        published_dt=published,
        **values,
    )
    index_fields(listing, [category.name, category.name_en])
    db.session.add(listing)
    db.session.flush()
    return listing


def _prices(price: int, k: int, cluster: bool = True) -> dict:
    """Prices in fen from an external price in yuan: internal 50-70 %, cluster 80 %."""
    internal = price * INTERNAL_PERCENT[k % len(INTERNAL_PERCENT)] // 1000 * 10
    cluster_price = price * 8 // 100 * 10 if cluster else None
    return dict(
        price_external=price * 100,
        price_internal=internal * 100,
        price_cluster=cluster_price * 100 if cluster_price is not None else None,
    )


def _open(listing: Listing, hours: str) -> None:
    for weekday, start, end in HOURS[hours]:
        listing.opening_hours.append(
            OpeningInterval(weekday=weekday, start_minute=start, end_minute=end)
        )


def _equipment(lab, prefix, field, i, eq: Eq, category, k) -> Listing:
    since = date.fromisoformat(eq.since)
    number = f"{prefix}-{since.year}-{(i * 37 + 11) % 97 + 1:04d}"
    location = f"{lab.address}{1 + i // 3}{(i % 3) * 2 + 1:02d}室"
    listing = _listing(
        lab,
        ListingKind.EQUIPMENT,
        eq.field or field,
        category,
        k,
        name=eq.name,
        name_en=eq.name_en,
        description=eq.desc,
        description_en=eq.desc_en,
        price_unit=PriceUnit.HOUR,
        min_charge=eq.min_charge * 100,
        **_prices(eq.price, k, cluster=k % 5 != 3),
        **RULES[eq.rules],
        training_note=eq.training,
        instrument_number=number,
        model=eq.model,
        main_indicators=eq.indicators,
        test_fields=eq.fields,
        manufacturer=eq.maker,
        country_of_origin=eq.country,
        original_value=eq.value * 100,
        commissioning_date=since,
        location=location,
        instrument_status="normal",
    )
    for n in range(1, eq.units + 1):
        listing.units.append(Unit(name=f"#{n}", serial_number=f"{number}/{n}", location=location))
    _open(listing, eq.hours)
    subtitle = f"{eq.model} | {eq.maker}"
    for n in range(1 if k % 3 else 2):
        _add_photo(listing, eq.name_en, subtitle, eq.code, n)
    return listing


def _expert(lab, field, ex: Ex, category, k) -> Listing:
    listing = _listing(
        lab,
        ListingKind.EXPERT,
        field,
        category,
        k,
        name=ex.name,
        name_en=ex.name_en,
        description=ex.desc,
        description_en=ex.desc_en,
        price_unit=PriceUnit.SESSION,
        **_prices(ex.price, k),
        **RULES[ex.rules],
        expert_name=ex.expert,
        expert_title=ex.title,
        expert_fields=ex.fields,
        qualifications=ex.qualifications,
        languages=ex.languages,
        location=lab.address,
    )
    listing.units.append(Unit(name=ex.expert, location=lab.address))
    _open(listing, ex.hours)
    if ex.photo:
        _add_photo(
            listing, ex.name_en.split(":")[0], "Expert consultation", "080101", 0, shape="person"
        )
    return listing


def _dataset(lab, field, ds: Ds, category, k) -> Listing:
    return _listing(
        lab,
        ListingKind.DATASET,
        field,
        category,
        k,
        name=ds.name,
        name_en=ds.name_en,
        description=ds.desc,
        description_en=ds.desc_en,
        price_unit=PriceUnit.PERIOD,
        **_prices(ds.price, k, cluster=k % 2 == 0),
        **RULES["dataset"],
        licence=ds.licence,
        data_format=ds.data_format,
        data_size=ds.data_size,
        access_mode=ds.mode,
        access_days=ds.days,
    )


def _add_photo(
    listing: Listing, title: str, subtitle: str, code: str, n: int, shape: str | None = None
) -> None:
    data = _photo(title, subtitle, code, shape or _shape_for(code), variant=n)
    suffix = f"-{n + 1}" if n else ""
    stored = store_bytes(data, f"photo-{listing.id}{suffix}.jpg", "image/jpeg")
    thumb = store_bytes(_thumbnail(data), "thumb.webp", "image/webp")
    listing.files.append(
        ListingFile(
            role="photo",
            original_name=stored.original_name,
            stored_name=stored.stored_name,
            thumb_name=thumb.stored_name,
            content_type="image/jpeg",
            size=stored.size,
            position=n,
        )
    )


# ---------------------------------------------------------------------------------------------
# Photos: an 800x600 JPEG with a gradient, a drawn instrument silhouette and the English name
# ---------------------------------------------------------------------------------------------

W, H, BAND = 800, 600, 480
BODY, EDGE, PANEL = (240, 242, 245), (70, 76, 88), (205, 210, 218)
SCREEN, GLOW = (28, 38, 56), (90, 220, 200)
# Hue (degrees) of each class of the category code: analysers blue, mechanical orange...
CLASS_HUES = {"02": 215, "03": 28, "04": 145, "05": 185, "06": 335, "07": 265, "08": 48}
SHAPES = {
    "0206": "column",
    "0208": "magnet",
    "0301": "frame",
    "0302": "frame",
    "0303": "chamber",
    "0401": "bench",
    "0402": "rack",
    "0501": "rack",
    "0502": "rack",
    "0503": "rack",
}


def _shape_for(code: str) -> str:
    return SHAPES.get(code[:4], "cabinet")


@lru_cache(maxsize=8)
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


def _ascii(text: str) -> str:
    return " ".join("".join(c if ord(c) < 128 else " " for c in text).split())


def _palette(code: str):
    base = CLASS_HUES.get(code[:2], 220)
    hue = (base + (int(code[2:4]) * 13 + int(code[4:]) * 7) % 36 - 18) % 360 / 360

    def rgb(s, v):
        return tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, s, v))

    return rgb(0.18, 0.96), rgb(0.55, 0.5), rgb(0.75, 0.82)


def _photo(title: str, subtitle: str, code: str, shape: str, variant: int = 0) -> bytes:
    light, dark, accent = _palette(code)
    gradient = Image.linear_gradient("L")
    if variant:
        gradient = gradient.rotate(90)
    image = ImageOps.colorize(gradient.resize((W, H)), light, dark)
    layer = Image.new("RGBA", (W, BAND))
    DRAWERS[shape](ImageDraw.Draw(layer), accent)
    if variant:
        layer = ImageOps.mirror(layer)
    draw = ImageDraw.Draw(image)
    draw.ellipse((170, 430, 630, 478), fill=tuple(c // 2 for c in dark))
    image.paste(layer, (0, 0), layer)
    _caption(draw, _ascii(title), _ascii(subtitle), accent)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _caption(draw, title: str, subtitle: str, accent) -> None:
    draw.rectangle((0, BAND, W, H), fill=(22, 27, 36))
    draw.rectangle((0, BAND, W, BAND + 5), fill=accent)
    size = 34
    while size > 18 and draw.textlength(title, font=_font(size)) > W - 64:
        size -= 2
    draw.text((32, BAND + 22), title, font=_font(size), fill=(255, 255, 255))
    draw.text((32, BAND + 72), subtitle, font=_font(20), fill=(190, 198, 210))
    draw.text((W - 32, H - 14), "ShareHub", font=_font(16), fill=accent, anchor="rs")


def _screen(d, box) -> None:
    x0, y0, x1, y1 = box
    d.rectangle(box, fill=SCREEN, outline=EDGE, width=2)
    mid, amp, span = (y0 + y1) / 2, (y1 - y0) * 0.32, x1 - x0
    points = [
        (
            x,
            mid
            - amp
            * math.sin((x - x0) / span * 4 * math.pi)
            * math.exp(-(((x - x0) / span - 0.5) ** 2) * 6),
        )
        for x in range(x0 + 6, x1 - 5, 3)
    ]
    d.line(points, fill=GLOW, width=2)


def _feet(d, x0, x1, y) -> None:
    d.rectangle((x0 + 15, y, x0 + 45, y + 12), fill=EDGE)
    d.rectangle((x1 - 45, y, x1 - 15, y + 12), fill=EDGE)


def _cabinet(d, accent) -> None:
    d.rounded_rectangle((210, 130, 590, 440), 18, fill=BODY, outline=EDGE, width=3)
    d.rounded_rectangle((210, 130, 590, 178), 18, fill=accent, outline=EDGE, width=3)
    d.rectangle((213, 160, 587, 176), fill=accent)
    _screen(d, (240, 205, 390, 300))
    d.rounded_rectangle((415, 205, 560, 405), 10, fill=PANEL, outline=EDGE, width=2)
    d.rounded_rectangle((536, 280, 546, 335), 4, fill=EDGE)
    for i in range(3):
        d.ellipse((245 + i * 45, 335, 273 + i * 45, 363), fill=PANEL, outline=EDGE, width=2)
    d.rectangle((240, 385, 390, 395), fill=accent)
    _feet(d, 210, 590, 440)


def _column(d, accent) -> None:
    d.rectangle((120, 360, 680, 378), fill=EDGE)
    d.rectangle((140, 378, 160, 455), fill=EDGE)
    d.rectangle((640, 378, 660, 455), fill=EDGE)
    d.rounded_rectangle((300, 270, 520, 360), 10, fill=BODY, outline=EDGE, width=3)
    d.rounded_rectangle((370, 70, 450, 280), 14, fill=BODY, outline=EDGE, width=3)
    for y in (130, 170, 210, 250):
        d.line((373, y, 447, y), fill=PANEL, width=4)
    d.rectangle((371, 95, 449, 108), fill=accent)
    d.ellipse((375, 50, 445, 82), fill=PANEL, outline=EDGE, width=3)
    d.rectangle((150, 220, 290, 320), fill=SCREEN, outline=EDGE, width=3)
    d.ellipse((185, 235, 255, 305), outline=(150, 160, 175), width=3)
    d.ellipse((205, 255, 235, 285), fill=(120, 130, 145))
    d.rectangle((212, 320, 228, 360), fill=EDGE)
    d.rounded_rectangle((560, 230, 660, 360), 8, fill=PANEL, outline=EDGE, width=3)
    d.rectangle((575, 250, 645, 262), fill=accent)


def _chamber(d, accent) -> None:
    d.rounded_rectangle((200, 90, 600, 445), 14, fill=BODY, outline=EDGE, width=3)
    d.rounded_rectangle((225, 120, 480, 425), 10, fill=PANEL, outline=EDGE, width=3)
    d.rounded_rectangle((265, 165, 440, 320), 8, fill=(60, 80, 105), outline=EDGE, width=3)
    d.line((290, 300, 350, 185), fill=(150, 170, 195), width=5)
    d.line((322, 305, 378, 200), fill=(120, 140, 165), width=2)
    d.rounded_rectangle((455, 230, 468, 320), 5, fill=EDGE)
    _screen(d, (500, 130, 580, 190))
    d.rectangle((500, 205, 580, 215), fill=accent)
    for i in range(3):
        d.ellipse((505 + i * 27, 232, 523 + i * 27, 250), fill=PANEL, outline=EDGE, width=2)
    _feet(d, 200, 600, 445)


def _frame(d, accent) -> None:
    d.rounded_rectangle((230, 400, 530, 452), 8, fill=BODY, outline=EDGE, width=3)
    d.rectangle((265, 100, 290, 400), fill=PANEL, outline=EDGE, width=2)
    d.rectangle((470, 100, 495, 400), fill=PANEL, outline=EDGE, width=2)
    d.rounded_rectangle((245, 75, 515, 112), 6, fill=BODY, outline=EDGE, width=3)
    d.rounded_rectangle((255, 215, 505, 247), 6, fill=accent, outline=EDGE, width=2)
    d.rectangle((365, 247, 395, 272), fill=EDGE)
    d.rectangle((374, 272, 386, 345), fill=(180, 185, 195))
    d.rectangle((365, 345, 395, 370), fill=EDGE)
    d.rectangle((375, 370, 385, 400), fill=EDGE)
    d.rounded_rectangle((570, 300, 680, 452), 8, fill=PANEL, outline=EDGE, width=3)
    _screen(d, (585, 195, 675, 265))
    d.rectangle((624, 265, 634, 300), fill=EDGE)


def _bench(d, accent) -> None:
    d.rectangle((170, 330, 630, 372), fill=(95, 100, 110), outline=EDGE, width=3)
    d.rectangle((200, 372, 230, 452), fill=EDGE)
    d.rectangle((570, 372, 600, 452), fill=EDGE)
    d.rectangle((240, 130, 270, 330), fill=BODY, outline=EDGE, width=3)
    d.rectangle((530, 130, 560, 330), fill=BODY, outline=EDGE, width=3)
    d.rounded_rectangle((225, 105, 575, 140), 6, fill=BODY, outline=EDGE, width=3)
    d.rectangle((380, 92, 430, 152), fill=accent, outline=EDGE, width=2)
    d.rectangle((395, 152, 415, 268), fill=PANEL, outline=EDGE, width=2)
    d.line((405, 268, 405, 290), fill=EDGE, width=3)
    d.ellipse((398, 288, 412, 302), fill=(200, 50, 50))
    d.rounded_rectangle((330, 302, 480, 330), 6, fill=(170, 175, 185), outline=EDGE, width=2)


def _rack(d, accent) -> None:
    d.rounded_rectangle((330, 70, 520, 452), 8, fill=(52, 58, 70), outline=EDGE, width=3)
    y = 90
    for h in (70, 55, 80, 55, 70):
        d.rounded_rectangle((345, y, 505, y + h - 8), 4, fill=BODY, outline=EDGE, width=2)
        _screen(d, (355, y + 8, 430, y + h - 16))
        cy = y + (h - 8) // 2
        for j in range(2):
            d.ellipse(
                (445 + j * 25, cy - 8, 461 + j * 25, cy + 8), fill=PANEL, outline=EDGE, width=2
            )
        y += h
    d.rectangle((335, 425, 515, 432), fill=accent)
    # an antenna on a mast beside the rack
    d.line((200, 150, 200, 440), fill=EDGE, width=5)
    d.line((200, 440, 160, 452), fill=EDGE, width=4)
    d.line((200, 440, 240, 452), fill=EDGE, width=4)
    d.line((140, 150, 270, 150), fill=EDGE, width=4)
    for i in range(9):
        half = 10 + i * 6
        x = 150 + i * 14
        d.line((x, 150 - half, x, 150 + half), fill=accent, width=3)


def _magnet(d, accent) -> None:
    d.ellipse((300, 370, 500, 430), fill=BODY, outline=EDGE, width=3)
    d.rectangle((300, 150, 500, 400), fill=BODY)
    d.line((300, 150, 300, 400), fill=EDGE, width=3)
    d.line((500, 150, 500, 400), fill=EDGE, width=3)
    d.rectangle((302, 255, 498, 272), fill=accent)
    d.ellipse((300, 120, 500, 180), fill=PANEL, outline=EDGE, width=3)
    d.rectangle((385, 70, 415, 140), fill=PANEL, outline=EDGE, width=2)
    for x in (320, 395, 470):
        d.rectangle((x, 425, x + 12, 452), fill=EDGE)
    d.rounded_rectangle((570, 220, 680, 452), 8, fill=PANEL, outline=EDGE, width=3)
    _screen(d, (585, 240, 665, 300))


def _person(d, accent) -> None:
    d.chord((230, 250, 570, 640), 180, 360, fill=accent, outline=EDGE, width=3)
    d.polygon([(365, 252), (435, 252), (400, 320)], fill=BODY, outline=EDGE)
    d.ellipse((330, 85, 470, 235), fill=BODY, outline=EDGE, width=3)


DRAWERS = {
    "cabinet": _cabinet,
    "column": _column,
    "chamber": _chamber,
    "frame": _frame,
    "bench": _bench,
    "rack": _rack,
    "magnet": _magnet,
    "person": _person,
}
