"""Bilingual demo data: regions, clusters, a platform, an authority, labs and enterprises.

`seed_demo()` loads everything once (it does nothing if the demo administrator exists) and only
flushes; the caller commits. Every demo account signs in with DEMO_PASSWORD.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from sharehub.accounts.models import (
    Cluster,
    Membership,
    Organisation,
    OrgKind,
    OrgStatus,
    Region,
    Role,
    User,
)
from sharehub.accounts.regions_data import REGIONS
from sharehub.catalog.reference import seed_categories, seed_holidays
from sharehub.core import audit
from sharehub.core.codes import CREDIT_CODE_ALPHABET, make_credit_code
from sharehub.core.db import utcnow
from sharehub.demo.listings import seed_demo_listings
from sharehub.demo.vouchers import seed_demo_vouchers
from sharehub.extensions import db

DEMO_PASSWORD = "sharehub-demo"
ADMIN_EMAIL = "admin@demo.sharehub.cn"

DEMO_ACCOUNTS: list[tuple[str, str]] = [
    (ADMIN_EMAIL, "Platform administrator (ShareHub Platform Operations)"),
    ("regulator@demo.sharehub.cn", "Regulator (Suzhou Administration for Market Regulation)"),
    ("lab@demo.sharehub.cn", "Lab manager (National New Materials Quality Standard Lab, Suzhou)"),
    ("buyer@demo.sharehub.cn", "Enterprise buyer (owner of one firm, member of another)"),
]

# email -> (name, mobile phone, locale)
USERS: dict[str, tuple[str, str, str]] = {
    ADMIN_EMAIL: ("周海峰", "13817260431", "zh_CN"),
    "regulator@demo.sharehub.cn": ("陈静怡", "13962108857", "zh_CN"),
    "lab@demo.sharehub.cn": ("王立新", "13913574620", "zh_CN"),
    "lab2@demo.sharehub.cn": ("李嘉豪", "13590281746", "zh_CN"),
    "lab3@demo.sharehub.cn": ("张晓燕", "13857462093", "zh_CN"),
    "lab4@demo.sharehub.cn": ("林志远", "13959236184", "en"),
    "lab5@demo.sharehub.cn": ("刘雨桐", "13855107329", "zh_CN"),
    "lab6@demo.sharehub.cn": ("赵明轩", "13961853270", "zh_CN"),
    "buyer@demo.sharehub.cn": ("孙浩然", "13776218845", "zh_CN"),
    "buyer2@demo.sharehub.cn": ("吴佳琪", "13812960374", "zh_CN"),
    "buyer3@demo.sharehub.cn": ("黄子轩", "13723849105", "en"),
    "buyer4@demo.sharehub.cn": ("郑欣怡", "13631570286", "zh_CN"),
    "buyer5@demo.sharehub.cn": ("徐建国", "13586409712", "zh_CN"),
    "buyer6@demo.sharehub.cn": ("胡晓峰", "13957830164", "zh_CN"),
    "buyer7@demo.sharehub.cn": ("蔡雅婷", "13806092537", "zh_CN"),
    "buyer8@demo.sharehub.cn": ("许文博", "13600518743", "zh_CN"),
    "buyer9@demo.sharehub.cn": ("杨思远", "13956021498", "zh_CN"),
    "buyer10@demo.sharehub.cn": ("马俊杰", "13395653817", "zh_CN"),
}

# (name, name_en, city code, description)
CLUSTERS: list[tuple[str, str, str, str]] = [
    (
        "苏州工业园区纳米新材料产业集群",
        "Suzhou Industrial Park Nano-materials Cluster",
        "320500",
        "纳米新材料、第三代半导体材料与微纳制造企业集聚区。"
        " Nano-materials, third-generation semiconductor materials and micro/nano manufacturing.",
    ),
    (
        "深圳南山新一代信息技术产业集群",
        "Shenzhen Nanshan New-generation Information Technology Cluster",
        "440300",
        "集成电路设计、通信设备、智能终端与软件企业集聚区。"
        " IC design, telecom equipment, smart devices and software.",
    ),
    (
        "宁波汽车零部件产业集群",
        "Ningbo Automotive Parts Cluster",
        "330200",
        "高端装备制造：汽车零部件、模具与精密铸锻件。"
        " High-end manufacturing: automotive parts, moulds and precision castings and forgings.",
    ),
    (
        "厦门生物医药产业集群",
        "Xiamen Biomedicine Cluster",
        "350200",
        "生物制药、体外诊断试剂与医疗器械企业集聚区。"
        " Biopharmaceuticals, in-vitro diagnostics and medical devices.",
    ),
    (
        "合肥新能源汽车与储能产业集群",
        "Hefei New Energy Vehicle and Energy Storage Cluster",
        "340100",
        "新能源整车、动力电池、储能系统与电驱电控（能源电子）。"
        " NEVs, traction batteries, energy storage systems and power electronics.",
    ),
    (
        "无锡物联网产业集群",
        "Wuxi Internet of Things Cluster",
        "320200",
        "传感器、物联网模组与智能检测装备企业集聚区。"
        " Sensors, IoT modules and intelligent testing equipment.",
    ),
]

# Non-lab organisations run by the platform itself and the authority.
# (kind, credit prefix, name, name_en, city, contact phone, address, owner)
OPERATORS = [
    (
        OrgKind.PLATFORM,
        "91",
        "ShareHub 平台运营中心",
        "ShareHub Platform Operations",
        "320500",
        "0512-62880100",
        "江苏省苏州市工业园区星湖街328号创意产业园12幢",
        ADMIN_EMAIL,
    ),
    (
        OrgKind.AUTHORITY,
        "11",
        "苏州市市场监督管理局",
        "Suzhou Administration for Market Regulation",
        "320500",
        "0512-68550312",
        "江苏省苏州市姑苏区十梓街338号",
        "regulator@demo.sharehub.cn",
    ),
]

# (credit prefix, name, name_en, host, city, cluster index, CNAS, CMA, phone, address, owner,
#  status)
LABS = [
    (
        "12",
        "国家新材料质量标准实验室（苏州）",
        "National Quality Standard Laboratory for New Materials (Suzhou)",
        "苏州理工大学",
        "320500",
        0,
        "CNAS L2317",
        "221012340517",
        "0512-65880231",
        "江苏省苏州市工业园区仁爱路199号理工楼B座",
        "lab@demo.sharehub.cn",
        OrgStatus.ACTIVE,
    ),
    (
        "12",
        "国家新一代信息技术质量标准实验室（深圳）",
        "National Quality Standard Laboratory for New-generation IT (Shenzhen)",
        "深圳电子信息产品检测研究院",
        "440300",
        1,
        "CNAS L1685",
        "221044120386",
        "0755-26531870",
        "广东省深圳市南山区科技南十二路18号",
        "lab2@demo.sharehub.cn",
        OrgStatus.ACTIVE,
    ),
    (
        "91",
        "国家汽车零部件质量标准实验室（宁波）",
        "National Quality Standard Laboratory for Automotive Parts (Ningbo)",
        "宁波东方汽车集团有限公司",
        "330200",
        2,
        "CNAS L3902",
        "221033107254",
        "0574-86902215",
        "浙江省宁波市北仑区大港五路88号",
        "lab3@demo.sharehub.cn",
        OrgStatus.ACTIVE,
    ),
    (
        "12",
        "国家生物医药质量标准实验室（厦门）",
        "National Quality Standard Laboratory for Biomedicine (Xiamen)",
        "厦门海峡医药大学",
        "350200",
        3,
        "CNAS L4458",
        "221035026619",
        "0592-6578820",
        "福建省厦门市海沧区新阳街道翁角路2000号",
        "lab4@demo.sharehub.cn",
        OrgStatus.ACTIVE,
    ),
    (
        "12",
        "国家新能源汽车与储能质量标准实验室（合肥）",
        "National Quality Standard Laboratory for NEVs and Energy Storage (Hefei)",
        "合肥新能源技术研究院",
        "340100",
        4,
        "CNAS L5126",
        "221034019043",
        "0551-65317726",
        "安徽省合肥市高新区望江西路860号",
        "lab5@demo.sharehub.cn",
        OrgStatus.ACTIVE,
    ),
    (
        "91",
        "国家智能传感器质量标准实验室（无锡）",
        "National Quality Standard Laboratory for Intelligent Sensors (Wuxi)",
        "无锡感知科技集团股份有限公司",
        "320200",
        5,
        "CNAS L6073",
        "221032058810",
        "0510-85216637",
        "江苏省无锡市新吴区菱湖大道200号传感网国际创新园",
        "lab6@demo.sharehub.cn",
        OrgStatus.PENDING,
    ),
]

# (name, name_en, city, cluster index, SME, phone, address, owner)
ENTERPRISES = [
    (
        "苏州纳微光电材料有限公司",
        "Suzhou Nanowei Optoelectronic Materials Co., Ltd.",
        "320500",
        0,
        True,
        "0512-62951873",
        "江苏省苏州市工业园区若水路398号",
        "buyer@demo.sharehub.cn",
    ),
    (
        "苏州晶华新材料科技有限公司",
        "Suzhou Jinghua New Materials Technology Co., Ltd.",
        "320500",
        0,
        True,
        "0512-66273508",
        "江苏省苏州市工业园区金鸡湖大道99号纳米城西北区",
        "buyer2@demo.sharehub.cn",
    ),
    (
        "深圳芯睿微电子有限公司",
        "Shenzhen Xinrui Microelectronics Co., Ltd.",
        "440300",
        1,
        True,
        "0755-86307725",
        "广东省深圳市南山区粤海街道高新南一道9号",
        "buyer3@demo.sharehub.cn",
    ),
    (
        "深圳云启智能终端有限公司",
        "Shenzhen Yunqi Smart Devices Co., Ltd.",
        "440300",
        1,
        True,
        "0755-26718490",
        "广东省深圳市南山区西丽街道留仙大道1213号",
        "buyer4@demo.sharehub.cn",
    ),
    (
        "宁波甬达汽车部件有限公司",
        "Ningbo Yongda Auto Parts Co., Ltd.",
        "330200",
        2,
        True,
        "0574-86185532",
        "浙江省宁波市北仑区小港街道渡口南路55号",
        "buyer5@demo.sharehub.cn",
    ),
    (
        "宁波精锐模具制造股份有限公司",
        "Ningbo Jingrui Mould Manufacturing Co., Ltd.",
        "330200",
        2,
        False,
        "0574-63052281",
        "浙江省宁波市慈溪市宗汉街道新兴大道168号",
        "buyer6@demo.sharehub.cn",
    ),
    (
        "厦门鹭康生物制药有限公司",
        "Xiamen Lukang Biopharmaceutical Co., Ltd.",
        "350200",
        3,
        True,
        "0592-6812367",
        "福建省厦门市海沧区新阳路285号",
        "buyer7@demo.sharehub.cn",
    ),
    (
        "厦门海沧医疗器械有限公司",
        "Xiamen Haicang Medical Devices Co., Ltd.",
        "350200",
        3,
        True,
        "0592-6039514",
        "福建省厦门市海沧区翁角西路2066号",
        "buyer8@demo.sharehub.cn",
    ),
    (
        "合肥恒储能源科技有限公司",
        "Hefei Hengchu Energy Technology Co., Ltd.",
        "340100",
        4,
        True,
        "0551-63817420",
        "安徽省合肥市经开区繁华大道6699号",
        "buyer9@demo.sharehub.cn",
    ),
    (
        "无锡感联物联网科技有限公司",
        "Wuxi Ganlian IoT Technology Co., Ltd.",
        "320200",
        5,
        True,
        "0510-81819036",
        "江苏省无锡市新吴区清源路20号",
        "buyer10@demo.sharehub.cn",
    ),
]

# buyer@ also works for this enterprise (index into ENTERPRISES) to show organisation switching.
BUYER_SECOND_ENTERPRISE = 1


def seed_regions() -> int:
    """Insert every province and city of REGIONS missing by code; returns how many were added."""
    existing = {r.code: r for r in db.session.scalars(sa.select(Region))}
    added = 0
    for code, name, name_en, cities in REGIONS:
        province = existing.get(code)
        if province is None:
            province = existing[code] = Region(code=code, name=name, name_en=name_en)
            db.session.add(province)
            added += 1
        for city_code, city_name, city_en in cities:
            if city_code not in existing:
                existing[city_code] = Region(
                    code=city_code, name=city_name, name_en=city_en, parent=province
                )
                db.session.add(existing[city_code])
                added += 1
    if added:
        db.session.flush()
    return added


def _credit_code(kind_prefix: str, city: str, name: str) -> str:
    """A valid, stable credit code: prefix + city + a 9-character organisation part from the name.

    Firms registered since 2015 carry an "MA…" organisation part; public bodies a numeric one.
    """
    digest = hashlib.sha256(name.encode()).digest()
    if kind_prefix == "91":
        alphabet, lead = CREDIT_CODE_ALPHABET, "MA"
    else:
        alphabet, lead = "0123456789", ""
    org_part = (lead + "".join(alphabet[b % len(alphabet)] for b in digest))[:9]
    return make_credit_code(kind_prefix + city + org_part)


def _clusters(regions: dict[str, Region]) -> list[Cluster]:
    clusters = []
    for name, name_en, city, description in CLUSTERS:
        cluster = db.session.scalar(sa.select(Cluster).where(Cluster.name == name))
        if cluster is None:
            cluster = Cluster(
                name=name, name_en=name_en, region=regions[city], description=description
            )
            db.session.add(cluster)
        clusters.append(cluster)
    return clusters


def _users() -> dict[str, User]:
    now = utcnow()
    users: dict[str, User] = {}
    password_hash = None
    for email, (name, phone, locale) in USERS.items():
        user = User(
            email=email,
            name=name,
            phone=phone,
            locale=locale,
            timezone="Asia/Shanghai",
            email_verified_dt=now,
        )
        if password_hash is None:
            # scrypt is deliberately slow: hash once and share the result.
            user.set_password(DEMO_PASSWORD)
            password_hash = user.password_hash
        else:
            user.password_hash = password_hash
        db.session.add(user)
        users[email] = user
    return users


def _organisation(kind, prefix, name, name_en, city, regions, owner: User, **fields):
    status = fields.pop("status", OrgStatus.ACTIVE)
    org = Organisation(
        kind=kind,
        name=name,
        name_en=name_en,
        credit_code=_credit_code(prefix, city, name),
        region=regions[city],
        contact_name=owner.name,
        contact_email=owner.email,
        status=status,
        status_changed_dt=None if status == OrgStatus.PENDING else utcnow(),
        **fields,
    )
    db.session.add(org)
    db.session.add(Membership(user=owner, organisation=org, role=Role.OWNER))
    return org


# A department of a host (index into LABS): it books the lab at the internal price.
HOST_DEPARTMENTS = {0: ("材料科学与工程学院", "School of Materials Science and Engineering")}


def _host(name: str, city: str, regions) -> Organisation:
    """The lab's host organisation (依托单位), an organisation on the platform (public
    bodies carry credit codes starting 12), with its departments naming it as host."""
    host = db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
    if host is not None:
        return host
    host = Organisation(
        kind=OrgKind.ENTERPRISE,
        name=name,
        name_en="",
        credit_code=_credit_code("12", city, name),
        region=regions[city],
        status=OrgStatus.ACTIVE,
    )
    db.session.add(host)
    index = next((n for n, row in enumerate(LABS) if row[3] == name), None)
    if index in HOST_DEPARTMENTS:
        dept, dept_en = HOST_DEPARTMENTS[index]
        db.session.add(
            Organisation(
                kind=OrgKind.ENTERPRISE,
                name=f"{name}{dept}",
                name_en=dept_en,
                credit_code=_credit_code("12", city, f"{name}{dept}"),
                region=regions[city],
                status=OrgStatus.ACTIVE,
                host_org=host,
            )
        )
    return host


def seed_demo() -> bool:
    """Load the demo data set once; False (and no change) if it is already there."""
    if db.session.scalar(sa.select(User.id).where(User.email == ADMIN_EMAIL)) is not None:
        return False
    seed_regions()
    regions = {r.code: r for r in db.session.scalars(sa.select(Region))}
    clusters = _clusters(regions)
    users = _users()

    operators = {}
    for kind, prefix, name, name_en, city, phone, address, owner in OPERATORS:
        operators[kind] = _organisation(
            kind,
            prefix,
            name,
            name_en,
            city,
            regions,
            users[owner],
            contact_phone=phone,
            address=address,
        )

    for (
        prefix,
        name,
        name_en,
        host,
        city,
        cluster,
        cnas,
        cma,
        phone,
        address,
        owner,
        status,
    ) in LABS:
        # Demo bank details: a made-up account number derived from the lab's phone.
        digits = "".join(ch for ch in phone if ch.isdigit())[-8:]
        host_org = _host(host, city, regions)
        _organisation(
            OrgKind.LAB,
            prefix,
            name,
            name_en,
            city,
            regions,
            users[owner],
            host_name=host,
            host_org=host_org,
            cluster=clusters[cluster],
            cnas_number=cnas,
            cma_number=cma,
            contact_phone=phone,
            address=address,
            status=status,
            bank_name=f"中国工商银行{regions[city].name.removesuffix('市')}分行",
            bank_account=f"1102 0200 {digits[:4]} {digits[4:]}",
        )

    enterprises = []
    for name, name_en, city, cluster, sme, phone, address, owner in ENTERPRISES:
        enterprises.append(
            _organisation(
                OrgKind.ENTERPRISE,
                "91",
                name,
                name_en,
                city,
                regions,
                users[owner],
                cluster=clusters[cluster],
                is_sme=sme,
                contact_phone=phone,
                address=address,
            )
        )
    db.session.add(
        Membership(
            user=users["buyer@demo.sharehub.cn"],
            organisation=enterprises[BUYER_SECOND_ENTERPRISE],
            role=Role.MEMBER,
        )
    )

    db.session.flush()
    seed_categories()
    seed_holidays()
    seed_demo_listings()
    buyer_firm = next(
        org
        for org, row in zip(enterprises, ENTERPRISES, strict=True)
        if row[-1] == "buyer@demo.sharehub.cn"
    )
    seed_demo_vouchers(operators[OrgKind.AUTHORITY], buyer_firm)
    from sharehub.demo.testing import seed_demo_testing  # commissioned testing

    lab_users = [users[f"lab{n}@demo.sharehub.cn"] for n in ("", "2", "3")]
    seed_demo_testing(
        [next(m.organisation for m in u.memberships if m.organisation.is_lab) for u in lab_users],
        lab_users,
        users["buyer@demo.sharehub.cn"],
        buyer_firm,
    )
    from sharehub.demo.activity import seed_demo_activity  # a year of use for the statistics

    seed_demo_activity()
    from sharehub.demo.fapiao import seed_demo_fapiao  # after the statements of the activity

    seed_demo_fapiao(buyer_firm, users["buyer@demo.sharehub.cn"])
    from sharehub.demo.calibration import seed_demo_calibration  # certificates of the units

    seed_demo_calibration()

    from sharehub.demo.competence import seed_demo_competence  # after the past bookings

    seed_demo_competence()
    from sharehub.assessment.rounds import ensure_default_scheme

    ensure_default_scheme()
    audit.record(None, "demo.seeded", None, object_type="system")
    db.session.flush()
    return True
