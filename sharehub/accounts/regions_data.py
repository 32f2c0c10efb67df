"""Provinces and main cities of mainland China, coded by GB/T 2260 (administrative division codes).

Each entry: (province code, Chinese name, English name, [(city code, Chinese, English), ...]).
The four municipalities carry one "city" for themselves. Cities are the capital plus the main
industrial cities; administrators may add more.
"""

from __future__ import annotations

REGIONS: list[tuple[str, str, str, list[tuple[str, str, str]]]] = [
    ("110000", "北京市", "Beijing", [("110100", "北京市", "Beijing")]),
    ("120000", "天津市", "Tianjin", [("120100", "天津市", "Tianjin")]),
    (
        "130000",
        "河北省",
        "Hebei",
        [
            ("130100", "石家庄市", "Shijiazhuang"),
            ("130200", "唐山市", "Tangshan"),
            ("130600", "保定市", "Baoding"),
            ("130900", "沧州市", "Cangzhou"),
            ("131000", "廊坊市", "Langfang"),
        ],
    ),
    (
        "140000",
        "山西省",
        "Shanxi",
        [
            ("140100", "太原市", "Taiyuan"),
            ("140200", "大同市", "Datong"),
            ("140400", "长治市", "Changzhi"),
        ],
    ),
    (
        "150000",
        "内蒙古自治区",
        "Inner Mongolia",
        [
            ("150100", "呼和浩特市", "Hohhot"),
            ("150200", "包头市", "Baotou"),
            ("150600", "鄂尔多斯市", "Ordos"),
        ],
    ),
    (
        "210000",
        "辽宁省",
        "Liaoning",
        [
            ("210100", "沈阳市", "Shenyang"),
            ("210200", "大连市", "Dalian"),
            ("210300", "鞍山市", "Anshan"),
        ],
    ),
    (
        "220000",
        "吉林省",
        "Jilin",
        [
            ("220100", "长春市", "Changchun"),
            ("220200", "吉林市", "Jilin City"),
        ],
    ),
    (
        "230000",
        "黑龙江省",
        "Heilongjiang",
        [
            ("230100", "哈尔滨市", "Harbin"),
            ("230200", "齐齐哈尔市", "Qiqihar"),
            ("230600", "大庆市", "Daqing"),
        ],
    ),
    ("310000", "上海市", "Shanghai", [("310100", "上海市", "Shanghai")]),
    (
        "320000",
        "江苏省",
        "Jiangsu",
        [
            ("320100", "南京市", "Nanjing"),
            ("320200", "无锡市", "Wuxi"),
            ("320300", "徐州市", "Xuzhou"),
            ("320400", "常州市", "Changzhou"),
            ("320500", "苏州市", "Suzhou"),
            ("320600", "南通市", "Nantong"),
        ],
    ),
    (
        "330000",
        "浙江省",
        "Zhejiang",
        [
            ("330100", "杭州市", "Hangzhou"),
            ("330200", "宁波市", "Ningbo"),
            ("330300", "温州市", "Wenzhou"),
            ("330400", "嘉兴市", "Jiaxing"),
            ("330500", "湖州市", "Huzhou"),
            ("330600", "绍兴市", "Shaoxing"),
            ("330700", "金华市", "Jinhua"),
            ("331000", "台州市", "Taizhou"),
        ],
    ),
    (
        "340000",
        "安徽省",
        "Anhui",
        [
            ("340100", "合肥市", "Hefei"),
            ("340200", "芜湖市", "Wuhu"),
            ("340300", "蚌埠市", "Bengbu"),
        ],
    ),
    (
        "350000",
        "福建省",
        "Fujian",
        [
            ("350100", "福州市", "Fuzhou"),
            ("350200", "厦门市", "Xiamen"),
            ("350500", "泉州市", "Quanzhou"),
            ("350600", "漳州市", "Zhangzhou"),
        ],
    ),
    (
        "360000",
        "江西省",
        "Jiangxi",
        [
            ("360100", "南昌市", "Nanchang"),
            ("360400", "九江市", "Jiujiang"),
            ("360700", "赣州市", "Ganzhou"),
        ],
    ),
    (
        "370000",
        "山东省",
        "Shandong",
        [
            ("370100", "济南市", "Jinan"),
            ("370200", "青岛市", "Qingdao"),
            ("370300", "淄博市", "Zibo"),
            ("370600", "烟台市", "Yantai"),
            ("370700", "潍坊市", "Weifang"),
        ],
    ),
    (
        "410000",
        "河南省",
        "Henan",
        [
            ("410100", "郑州市", "Zhengzhou"),
            ("410300", "洛阳市", "Luoyang"),
            ("410700", "新乡市", "Xinxiang"),
        ],
    ),
    (
        "420000",
        "湖北省",
        "Hubei",
        [
            ("420100", "武汉市", "Wuhan"),
            ("420500", "宜昌市", "Yichang"),
            ("420600", "襄阳市", "Xiangyang"),
        ],
    ),
    (
        "430000",
        "湖南省",
        "Hunan",
        [
            ("430100", "长沙市", "Changsha"),
            ("430200", "株洲市", "Zhuzhou"),
            ("430300", "湘潭市", "Xiangtan"),
        ],
    ),
    (
        "440000",
        "广东省",
        "Guangdong",
        [
            ("440100", "广州市", "Guangzhou"),
            ("440300", "深圳市", "Shenzhen"),
            ("440400", "珠海市", "Zhuhai"),
            ("440500", "汕头市", "Shantou"),
            ("440600", "佛山市", "Foshan"),
            ("441300", "惠州市", "Huizhou"),
            ("441900", "东莞市", "Dongguan"),
            ("442000", "中山市", "Zhongshan"),
        ],
    ),
    (
        "450000",
        "广西壮族自治区",
        "Guangxi",
        [
            ("450100", "南宁市", "Nanning"),
            ("450200", "柳州市", "Liuzhou"),
            ("450300", "桂林市", "Guilin"),
        ],
    ),
    (
        "460000",
        "海南省",
        "Hainan",
        [
            ("460100", "海口市", "Haikou"),
            ("460200", "三亚市", "Sanya"),
        ],
    ),
    ("500000", "重庆市", "Chongqing", [("500100", "重庆市", "Chongqing")]),
    (
        "510000",
        "四川省",
        "Sichuan",
        [
            ("510100", "成都市", "Chengdu"),
            ("510600", "德阳市", "Deyang"),
            ("510700", "绵阳市", "Mianyang"),
            ("511500", "宜宾市", "Yibin"),
        ],
    ),
    (
        "520000",
        "贵州省",
        "Guizhou",
        [
            ("520100", "贵阳市", "Guiyang"),
            ("520300", "遵义市", "Zunyi"),
        ],
    ),
    (
        "530000",
        "云南省",
        "Yunnan",
        [
            ("530100", "昆明市", "Kunming"),
            ("530300", "曲靖市", "Qujing"),
            ("530400", "玉溪市", "Yuxi"),
        ],
    ),
    (
        "540000",
        "西藏自治区",
        "Tibet",
        [
            ("540100", "拉萨市", "Lhasa"),
            ("540200", "日喀则市", "Shigatse"),
        ],
    ),
    (
        "610000",
        "陕西省",
        "Shaanxi",
        [
            ("610100", "西安市", "Xi'an"),
            ("610300", "宝鸡市", "Baoji"),
            ("610400", "咸阳市", "Xianyang"),
        ],
    ),
    (
        "620000",
        "甘肃省",
        "Gansu",
        [
            ("620100", "兰州市", "Lanzhou"),
            ("620200", "嘉峪关市", "Jiayuguan"),
            ("620300", "金昌市", "Jinchang"),
        ],
    ),
    (
        "630000",
        "青海省",
        "Qinghai",
        [
            ("630100", "西宁市", "Xining"),
            ("632800", "海西蒙古族藏族自治州", "Haixi Mongol and Tibetan Autonomous Prefecture"),
        ],
    ),
    (
        "640000",
        "宁夏回族自治区",
        "Ningxia",
        [
            ("640100", "银川市", "Yinchuan"),
            ("640200", "石嘴山市", "Shizuishan"),
        ],
    ),
    (
        "650000",
        "新疆维吾尔自治区",
        "Xinjiang",
        [
            ("650100", "乌鲁木齐市", "Urumqi"),
            ("650200", "克拉玛依市", "Karamay"),
        ],
    ),
]
