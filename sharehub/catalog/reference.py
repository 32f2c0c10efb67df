"""Reference data the catalogue needs: instrument categories and the holiday calendar."""

from __future__ import annotations

import sqlalchemy as sa

from sharehub.catalog.models import Holiday, InstrumentCategory
from sharehub.extensions import db

# 6-digit instrument category codes (仪器分类编码): 2-digit class, 2-digit group, 2-digit item.
CATEGORIES = [
    ("020101", "电化学分析仪", "Electrochemical analyser"),
    ("020201", "气相色谱仪", "Gas chromatograph"),
    ("020202", "液相色谱仪", "Liquid chromatograph"),
    ("020203", "离子色谱仪", "Ion chromatograph"),
    ("020301", "紫外可见分光光度计", "UV-Vis spectrophotometer"),
    ("020302", "原子吸收光谱仪", "Atomic absorption spectrometer"),
    ("020303", "电感耦合等离子体发射光谱仪", "ICP optical emission spectrometer"),
    ("020304", "X射线荧光光谱仪", "X-ray fluorescence spectrometer"),
    ("020305", "傅里叶变换红外光谱仪", "FTIR spectrometer"),
    ("020306", "激光拉曼光谱仪", "Raman spectrometer"),
    ("020307", "荧光光谱仪", "Fluorescence spectrometer"),
    ("020401", "电感耦合等离子体质谱仪", "ICP mass spectrometer"),
    ("020402", "气相色谱-质谱联用仪", "GC-MS"),
    ("020403", "液相色谱-质谱联用仪", "LC-MS"),
    ("020501", "X射线衍射仪", "X-ray diffractometer"),
    ("020601", "扫描电子显微镜", "Scanning electron microscope"),
    ("020602", "透射电子显微镜", "Transmission electron microscope"),
    ("020603", "原子力显微镜", "Atomic force microscope"),
    ("020701", "差示扫描量热仪", "Differential scanning calorimeter"),
    ("020702", "热重分析仪", "Thermogravimetric analyser"),
    ("020801", "核磁共振波谱仪", "NMR spectrometer"),
    ("020901", "激光粒度分析仪", "Laser particle size analyser"),
    ("020902", "比表面积及孔径分析仪", "Surface area and porosity analyser"),
    ("030101", "电子万能材料试验机", "Universal testing machine"),
    ("030102", "疲劳试验机", "Fatigue testing machine"),
    ("030103", "冲击试验机", "Impact tester"),
    ("030201", "硬度计", "Hardness tester"),
    ("030301", "盐雾试验箱", "Salt spray chamber"),
    ("030302", "高低温湿热试验箱", "Temperature and humidity chamber"),
    ("030303", "振动试验系统", "Vibration test system"),
    ("030304", "氙灯老化试验箱", "Xenon arc weathering chamber"),
    ("030401", "工业CT", "Industrial CT scanner"),
    ("030402", "超声探伤仪", "Ultrasonic flaw detector"),
    ("040101", "三坐标测量机", "Coordinate measuring machine"),
    ("040102", "激光干涉仪", "Laser interferometer"),
    ("040103", "圆度仪", "Roundness tester"),
    ("040201", "电磁兼容测试系统", "EMC test system"),
    ("050101", "数字示波器", "Digital oscilloscope"),
    ("050201", "频谱分析仪", "Spectrum analyser"),
    ("050202", "矢量网络分析仪", "Vector network analyser"),
    ("050301", "半导体参数分析仪", "Semiconductor parameter analyser"),
    ("050302", "电池测试系统", "Battery test system"),
    ("060101", "流式细胞仪", "Flow cytometer"),
    ("060102", "实时荧光定量PCR仪", "Real-time PCR system"),
    ("060103", "高内涵成像系统", "High-content imaging system"),
    ("060201", "基因测序仪", "DNA sequencer"),
    ("070101", "数据资源", "Data resource"),
    ("080101", "专家咨询服务", "Expert consultation"),
]


def seed_categories() -> int:
    existing = set(db.session.scalars(sa.select(InstrumentCategory.code)))
    added = 0
    for code, name, name_en in CATEGORIES:
        if code not in existing:
            db.session.add(InstrumentCategory(code=code, name=name, name_en=name_en))
            added += 1
    db.session.flush()
    return added


def seed_holidays(years=range(2025, 2028)) -> int:
    """Days off and make-up working days of mainland China from the `holidays` package.

    Existing rows are kept: administrators correct the calendar by hand.
    """
    import holidays

    existing = set(db.session.scalars(sa.select(Holiday.day)))
    added = 0
    for year in years:
        calendar = holidays.China(years=year, language="zh_CN")
        for day, name in sorted(calendar.items()):
            if day.year == year and day not in existing:
                db.session.add(Holiday(day=day, is_workday=False, name=name[:100]))
                existing.add(day)
                added += 1
        for day in sorted(getattr(calendar, "weekend_workdays", ())):
            if day.year == year and day not in existing:
                db.session.add(Holiday(day=day, is_workday=True, name="调休上班"))
                existing.add(day)
                added += 1
    db.session.flush()
    return added
