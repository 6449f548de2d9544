"""Where a notice comes from: 行政区域 text → province, city, administrative code and an English name.

Portals show the region in many shapes: a province short name in list metadata (``辽宁``), a prefecture city
(``沈阳市``), a municipality with its district (``北京市东城区``), a bare district (``滨海新区``), or nothing useful
(``市辖区``). ``locate`` reads the region text first and then weaker hints (list region, buyer address, buyer
name) until it knows the province and, where it can, the city.

The tables are deliberately small: the 31 provincial-level units, their capitals and the largest cities, and the
districts of Beijing, Tianjin and Shanghai (which ccgp shows without their city). Codes are the GB/T 2260
six-digit administrative division codes; English names are pinyin as in official usage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Province:
    name: str  # full name as written in addresses: 辽宁省, 北京市, 广西壮族自治区
    short: str  # as ccgp list pages show it: 辽宁, 北京, 广西
    code: str
    en: str

    @property
    def is_municipality(self) -> bool:
        return self.name.endswith("市")


@dataclass(frozen=True)
class City:
    name: str  # 沈阳市
    code: str
    en: str
    province_code: str


@dataclass(frozen=True)
class District:
    name: str  # 东城区
    code: str
    en: str
    province_code: str  # the municipality it belongs to


@dataclass(frozen=True)
class Location:
    province: str | None = None
    city: str | None = None
    district: str | None = None
    region_code: str | None = None
    region_en: str | None = None


PROVINCES: tuple[Province, ...] = (
    Province("北京市", "北京", "110000", "Beijing"),
    Province("天津市", "天津", "120000", "Tianjin"),
    Province("河北省", "河北", "130000", "Hebei"),
    Province("山西省", "山西", "140000", "Shanxi"),
    Province("内蒙古自治区", "内蒙古", "150000", "Inner Mongolia"),
    Province("辽宁省", "辽宁", "210000", "Liaoning"),
    Province("吉林省", "吉林", "220000", "Jilin"),
    Province("黑龙江省", "黑龙江", "230000", "Heilongjiang"),
    Province("上海市", "上海", "310000", "Shanghai"),
    Province("江苏省", "江苏", "320000", "Jiangsu"),
    Province("浙江省", "浙江", "330000", "Zhejiang"),
    Province("安徽省", "安徽", "340000", "Anhui"),
    Province("福建省", "福建", "350000", "Fujian"),
    Province("江西省", "江西", "360000", "Jiangxi"),
    Province("山东省", "山东", "370000", "Shandong"),
    Province("河南省", "河南", "410000", "Henan"),
    Province("湖北省", "湖北", "420000", "Hubei"),
    Province("湖南省", "湖南", "430000", "Hunan"),
    Province("广东省", "广东", "440000", "Guangdong"),
    Province("广西壮族自治区", "广西", "450000", "Guangxi"),
    Province("海南省", "海南", "460000", "Hainan"),
    Province("重庆市", "重庆", "500000", "Chongqing"),
    Province("四川省", "四川", "510000", "Sichuan"),
    Province("贵州省", "贵州", "520000", "Guizhou"),
    Province("云南省", "云南", "530000", "Yunnan"),
    Province("西藏自治区", "西藏", "540000", "Xizang (Tibet)"),
    Province("陕西省", "陕西", "610000", "Shaanxi"),
    Province("甘肃省", "甘肃", "620000", "Gansu"),
    Province("青海省", "青海", "630000", "Qinghai"),
    Province("宁夏回族自治区", "宁夏", "640000", "Ningxia"),
    Province("新疆维吾尔自治区", "新疆", "650000", "Xinjiang"),
)

CITIES: tuple[City, ...] = (
    City("石家庄市", "130100", "Shijiazhuang", "130000"),
    City("唐山市", "130200", "Tangshan", "130000"),
    City("保定市", "130600", "Baoding", "130000"),
    City("太原市", "140100", "Taiyuan", "140000"),
    City("呼和浩特市", "150100", "Hohhot", "150000"),
    City("包头市", "150200", "Baotou", "150000"),
    City("沈阳市", "210100", "Shenyang", "210000"),
    City("大连市", "210200", "Dalian", "210000"),
    City("长春市", "220100", "Changchun", "220000"),
    City("吉林市", "220200", "Jilin City", "220000"),
    City("哈尔滨市", "230100", "Harbin", "230000"),
    City("齐齐哈尔市", "230200", "Qiqihar", "230000"),
    City("大庆市", "230600", "Daqing", "230000"),
    City("南京市", "320100", "Nanjing", "320000"),
    City("无锡市", "320200", "Wuxi", "320000"),
    City("徐州市", "320300", "Xuzhou", "320000"),
    City("常州市", "320400", "Changzhou", "320000"),
    City("苏州市", "320500", "Suzhou", "320000"),
    City("南通市", "320600", "Nantong", "320000"),
    City("杭州市", "330100", "Hangzhou", "330000"),
    City("宁波市", "330200", "Ningbo", "330000"),
    City("温州市", "330300", "Wenzhou", "330000"),
    City("合肥市", "340100", "Hefei", "340000"),
    City("芜湖市", "340200", "Wuhu", "340000"),
    City("福州市", "350100", "Fuzhou", "350000"),
    City("厦门市", "350200", "Xiamen", "350000"),
    City("泉州市", "350500", "Quanzhou", "350000"),
    City("南昌市", "360100", "Nanchang", "360000"),
    City("济南市", "370100", "Jinan", "370000"),
    City("青岛市", "370200", "Qingdao", "370000"),
    City("烟台市", "370600", "Yantai", "370000"),
    City("潍坊市", "370700", "Weifang", "370000"),
    City("郑州市", "410100", "Zhengzhou", "410000"),
    City("洛阳市", "410300", "Luoyang", "410000"),
    City("武汉市", "420100", "Wuhan", "420000"),
    City("宜昌市", "420500", "Yichang", "420000"),
    City("襄阳市", "420600", "Xiangyang", "420000"),
    City("长沙市", "430100", "Changsha", "430000"),
    City("广州市", "440100", "Guangzhou", "440000"),
    City("深圳市", "440300", "Shenzhen", "440000"),
    City("珠海市", "440400", "Zhuhai", "440000"),
    City("汕头市", "440500", "Shantou", "440000"),
    City("佛山市", "440600", "Foshan", "440000"),
    City("东莞市", "441900", "Dongguan", "440000"),
    City("中山市", "442000", "Zhongshan", "440000"),
    City("南宁市", "450100", "Nanning", "450000"),
    City("桂林市", "450300", "Guilin", "450000"),
    City("海口市", "460100", "Haikou", "460000"),
    City("三亚市", "460200", "Sanya", "460000"),
    City("成都市", "510100", "Chengdu", "510000"),
    City("绵阳市", "510700", "Mianyang", "510000"),
    City("贵阳市", "520100", "Guiyang", "520000"),
    City("昆明市", "530100", "Kunming", "530000"),
    City("拉萨市", "540100", "Lhasa", "540000"),
    City("西安市", "610100", "Xi'an", "610000"),
    City("兰州市", "620100", "Lanzhou", "620000"),
    City("西宁市", "630100", "Xining", "630000"),
    City("银川市", "640100", "Yinchuan", "640000"),
    City("乌鲁木齐市", "650100", "Urumqi", "650000"),
)

# ccgp shows municipal notices with the district only (滨海新区) or as 北京市东城区.
DISTRICTS: tuple[District, ...] = (
    District("东城区", "110101", "Dongcheng District", "110000"),
    District("西城区", "110102", "Xicheng District", "110000"),
    District("朝阳区", "110105", "Chaoyang District", "110000"),
    District("丰台区", "110106", "Fengtai District", "110000"),
    District("石景山区", "110107", "Shijingshan District", "110000"),
    District("海淀区", "110108", "Haidian District", "110000"),
    District("门头沟区", "110109", "Mentougou District", "110000"),
    District("房山区", "110111", "Fangshan District", "110000"),
    District("通州区", "110112", "Tongzhou District", "110000"),
    District("顺义区", "110113", "Shunyi District", "110000"),
    District("昌平区", "110114", "Changping District", "110000"),
    District("大兴区", "110115", "Daxing District", "110000"),
    District("怀柔区", "110116", "Huairou District", "110000"),
    District("平谷区", "110117", "Pinggu District", "110000"),
    District("密云区", "110118", "Miyun District", "110000"),
    District("延庆区", "110119", "Yanqing District", "110000"),
    District("和平区", "120101", "Heping District", "120000"),
    District("河东区", "120102", "Hedong District", "120000"),
    District("河西区", "120103", "Hexi District", "120000"),
    District("南开区", "120104", "Nankai District", "120000"),
    District("河北区", "120105", "Hebei District", "120000"),
    District("红桥区", "120106", "Hongqiao District", "120000"),
    District("东丽区", "120110", "Dongli District", "120000"),
    District("西青区", "120111", "Xiqing District", "120000"),
    District("津南区", "120112", "Jinnan District", "120000"),
    District("北辰区", "120113", "Beichen District", "120000"),
    District("武清区", "120114", "Wuqing District", "120000"),
    District("宝坻区", "120115", "Baodi District", "120000"),
    District("滨海新区", "120116", "Binhai New Area", "120000"),
    District("宁河区", "120117", "Ninghe District", "120000"),
    District("静海区", "120118", "Jinghai District", "120000"),
    District("蓟州区", "120119", "Jizhou District", "120000"),
    District("黄浦区", "310101", "Huangpu District", "310000"),
    District("徐汇区", "310104", "Xuhui District", "310000"),
    District("长宁区", "310105", "Changning District", "310000"),
    District("静安区", "310106", "Jing'an District", "310000"),
    District("普陀区", "310107", "Putuo District", "310000"),
    District("虹口区", "310109", "Hongkou District", "310000"),
    District("杨浦区", "310110", "Yangpu District", "310000"),
    District("闵行区", "310112", "Minhang District", "310000"),
    District("宝山区", "310113", "Baoshan District", "310000"),
    District("嘉定区", "310114", "Jiading District", "310000"),
    District("浦东新区", "310115", "Pudong New Area", "310000"),
    District("金山区", "310116", "Jinshan District", "310000"),
    District("松江区", "310117", "Songjiang District", "310000"),
    District("青浦区", "310118", "Qingpu District", "310000"),
    District("奉贤区", "310120", "Fengxian District", "310000"),
    District("崇明区", "310151", "Chongming District", "310000"),
)

PROVINCE_BY_CODE: dict[str, Province] = {p.code: p for p in PROVINCES}
_PROVINCE_BY_NAME: dict[str, Province] = {p.name: p for p in PROVINCES} | {p.short: p for p in PROVINCES}
_CITY_BY_NAME: dict[str, City] = {c.name: c for c in CITIES}
# Region fields also write a city without 市 (沈阳); addresses and names always carry it, so only region text
# may use the bare form (a bare 中山 in an address is more often 中山路 or 中山大学).
_CITY_BY_SHORT: dict[str, City] = {c.name.removesuffix("市"): c for c in CITIES}
_DISTRICT_BY_NAME: dict[str, District] = {d.name: d for d in DISTRICTS}


def _alternation(names) -> re.Pattern[str]:
    # Longest first, so 河北区 wins over 河北 and 吉林市 over 吉林.
    return re.compile("|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True)))


_REGION_NAMES = _alternation(
    list(_PROVINCE_BY_NAME) + list(_CITY_BY_NAME) + list(_CITY_BY_SHORT) + list(_DISTRICT_BY_NAME)
)
# Hints are free text (addresses, buyer names): only full names count there.
_HINT_PROVINCES = _alternation(p.name for p in PROVINCES)
_HINT_CITIES = _alternation(_CITY_BY_NAME)
# Region text that names no place: the administrative placeholder for "the city's own districts".
_PLACEHOLDER_REGIONS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "全国", "中央"})


def locate(region: str | None, *hints: str | None) -> Location:
    """Province, city and code for a 行政区域 text, helped by weaker hints (list region, buyer address…).

    The region text decides when it names a place; hints only fill the province and city it leaves open and
    never contradict it. Districts come from the region text alone: an address's district is where the buyer's
    building stands, not the administrative level of the purchase (``市辖区`` means a city-level buyer).
    """
    province: Province | None = None
    city: City | None = None
    district: District | None = None
    cleaned = (region or "").strip()
    if cleaned and cleaned not in _PLACEHOLDER_REGIONS:
        province, city, district = _read_region(cleaned)
    # A bare district name (朝阳区) also exists outside the municipality in the table: a hint may overrule it.
    weak = district is not None and city is None and not cleaned.startswith(province.name if province else "-")
    for hint in hints:
        hint = (hint or "").strip()
        if not hint:
            continue
        hint_province, hint_city = _read_hint(hint)
        hint_province = hint_province or _province_of(hint_city)
        if weak and hint_province is not None and hint_province != province:
            province, district = hint_province, None
        weak = False
        if province and (city or province.is_municipality):
            break
        province = province or hint_province
        if city is None and hint_city and _province_of(hint_city) == province:
            city = hint_city
    return _location(province, city, district)


def _read_region(text: str) -> tuple[Province | None, City | None, District | None]:
    province = city = district = None
    for found in _REGION_NAMES.finditer(text):
        name = found.group(0)
        if name in _DISTRICT_BY_NAME:
            district = district or _DISTRICT_BY_NAME[name]
        elif name in _CITY_BY_NAME:
            city = city or _CITY_BY_NAME[name]
        elif found.start() == 0 and name in _PROVINCE_BY_NAME:
            province = _PROVINCE_BY_NAME[name]
        elif found.start() == 0 and name in _CITY_BY_SHORT:
            city = _CITY_BY_SHORT[name]
    province = province or _province_of(city) or _province_of(district)
    if city and _province_of(city) != province:
        city = None
    if district and _province_of(district) != province:
        district = None
    return province, city, district


def _read_hint(text: str) -> tuple[Province | None, City | None]:
    """A hint that is itself a region name (list metadata: 辽宁) reads like region text; free text needs full names."""
    if text in _PROVINCE_BY_NAME or text in _CITY_BY_SHORT or text in _CITY_BY_NAME:
        province, city, _ = _read_region(text)
        return province, city
    found_province = _HINT_PROVINCES.search(text)
    found_city = _HINT_CITIES.search(text)
    return (
        _PROVINCE_BY_NAME[found_province.group(0)] if found_province else None,
        _CITY_BY_NAME[found_city.group(0)] if found_city else None,
    )


def _province_of(place: City | District | None) -> Province | None:
    return PROVINCE_BY_CODE.get(place.province_code) if place else None


def _location(province: Province | None, city: City | None, district: District | None) -> Location:
    if province is None:
        return Location()
    if province.is_municipality:
        # A municipality is its own city: 北京市 is both province and city.
        if district:
            return Location(province.name, province.name, district.name, district.code, f"{district.en}, {province.en}")
        return Location(province.name, province.name, None, province.code, province.en)
    if city:
        return Location(province.name, city.name, None, city.code, f"{city.en}, {province.en}")
    return Location(province.name, None, None, province.code, province.en)
