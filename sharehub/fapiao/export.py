"""Fapiao requests in the tax system's bulk-issue layout (数电发票 批量开票 template): an
xlsx with the sheets 1-发票基本信息 and 2-发票明细信息, a title row, a note row, the column
headers on row 3 and one row per fapiao (and per line) from row 4, joined by 发票流水号.

The columns stand where the template (V260401) has them: the lab's tax software imports
by position, and a value that is not one of a column's drop-down choices fails the import.
Columns ShareHub does not fill stay empty. Sources: the template's 39 headers of sheet 1
(A–AM) as public importers reproduce them for V251101, and the positions a public check
of the V260401 file itself confirms (A, B, D, F, G, K, Q, R, S, T, AB, AC, AE; detail A–F,
H, I; 14 detail columns A–N; headers on row 3, data from row 4). The 备注 is column W.
Amounts are tax-inclusive (是否含税 = 是), written as text with two decimals; the rate as
the exact decimal (0.06).
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

import xlsxwriter

from sharehub.billing.models import Invoice, InvoiceLine
from sharehub.fapiao.models import KIND_TEMPLATE, FapiaoRequest
from sharehub.fapiao.services import rate_of

BASIC_SHEET = "1-发票基本信息"
DETAIL_SHEET = "2-发票明细信息"
HEADER_ROW = 2  # zero-based: row 3
BASIC_COLUMNS = [
    "发票流水号",  # A
    "发票类型",  # B
    "特定业务类型",  # C
    "是否含税",  # D
    "受票方自然人标识",  # E
    "购买方名称",  # F
    "购买方纳税人识别号",  # G
    "购买方证件类型",  # H
    "购买方证件号码",  # I
    "购买方国籍（或地区）",  # J
    "购买方地址",  # K
    "购买方所在地区",  # L (province; L–P are for 报废产品收购 only)
    "购买方所在地区",  # M (city)
    "购买方所在地区",  # N (district)
    "购买方所在地区",  # O (street)
    "购买方详细地址",  # P
    "购买方电话",  # Q
    "购买方开户银行",  # R
    "购买方银行账号",  # S
    "是否展示购买方地址电话银行账号",  # T
    "是否开具涉税专业服务发票品目",  # U
    "涉税专业服务协议编号",  # V
    "备注",  # W
    "报废产品销售类型",  # X
    "每千克煤炭发热量",  # Y
    "干基全硫",  # Z
    "干燥无灰基挥发分",  # AA
    "销售方开户行",  # AB
    "销售方银行账号",  # AC
    "是否展示销售方地址电话银行账号",  # AD
    "购买方邮箱",  # AE
    "购买方经办人姓名",  # AF
    "购买方经办人证件类型",  # AG
    "购买方经办人证件号码",  # AH
    "经办人国籍(地区)",  # AI
    "经办人自然人纳税人识别号",  # AJ
    "放弃享受减按1%征收率原因",  # AK
    "收款人",  # AL
    "复核人",  # AM
]
DETAIL_COLUMNS = [
    "发票流水号",  # A
    "项目名称",  # B
    "商品和服务税收编码",  # C
    "规格型号",  # D
    "单位",  # E
    "数量",  # F
    "单价",  # G
    "金额",  # H
    "税率",  # I
    "折扣金额",  # J
    "优惠政策类型",  # K
    "即征即退类型",  # L
    "差额扣除额",  # M
    "备注",  # N
]
SHOW_BUYER = "展示地址、电话、开户银行及银行账号"


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def serial(request: FapiaoRequest) -> str:
    """The 发票流水号 joining a fapiao's row to its lines: unique per request."""
    return f"SH{request.id:010d}"


def basic_row(request: FapiaoRequest) -> list[str]:
    buyer, lab = request.buyer, request.lab
    row = [""] * len(BASIC_COLUMNS)
    row[0] = serial(request)
    row[1] = KIND_TEMPLATE[request.kind]
    row[3] = "是"
    row[5] = buyer.get("title", "")
    row[6] = buyer.get("tax_id", "")
    row[10] = buyer.get("address", "")
    row[16] = buyer.get("phone", "")
    row[17] = buyer.get("bank_name", "")
    row[18] = buyer.get("bank_account", "")
    if any(buyer.get(k) for k in ("address", "phone", "bank_name", "bank_account")):
        row[19] = SHOW_BUYER
    row[22] = f"结算单号 {request.invoice.number}"
    row[27] = lab.bank_name
    row[28] = lab.bank_account
    # AD takes one of the template's own choices; left empty it shows nothing more.
    row[30] = buyer.get("email", "")
    return row


QUANTITY = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)")


def _quantity(line: InvoiceLine) -> Decimal | None:
    match = QUANTITY.match(line.quantity or "")
    if not match:
        return None
    value = Decimal(match.group(1))
    return value if value > 0 else None


def detail_rows(request: FapiaoRequest) -> list[list[str]]:
    """The statement's lines and those of its credit notes (negative), tax included."""
    invoice: Invoice = request.invoice
    lines = list(invoice.lines) + [line for note in invoice.credit_notes for line in note.lines]
    rows = []
    for line in lines:
        gross = line.net + line.vat
        if gross == 0:
            continue
        row = [""] * len(DETAIL_COLUMNS)
        row[0] = serial(request)
        row[1] = line.description[:100]
        row[2] = line.tax_code
        row[3] = line.spec
        row[4] = line.unit
        quantity = _quantity(line)
        if quantity is not None and gross > 0:
            row[5] = f"{quantity.normalize():f}"
            price = (Decimal(gross) / 100 / quantity).quantize(Decimal("0.00000001"))
            row[6] = f"{price.normalize():f}"
        row[7] = yuan(gross)
        row[8] = f"{rate_of(line.vat_rate_bp):f}"
        rows.append(row)
    return rows


def workbook(requests: list[FapiaoRequest]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    text = book.add_format({"num_format": "@"})
    bold = book.add_format({"bold": True})
    for name, title, columns, rows in (
        (BASIC_SHEET, "发票基本信息", BASIC_COLUMNS, [basic_row(r) for r in requests]),
        (
            DETAIL_SHEET,
            "发票明细信息",
            DETAIL_COLUMNS,
            [row for r in requests for row in detail_rows(r)],
        ),
    ):
        sheet = book.add_worksheet(name)
        sheet.set_column(0, len(columns) - 1, 18, text)
        sheet.write_string(0, 0, title, bold)
        sheet.write_string(1, 0, "由 ShareHub 导出；金额含税，单位：元。")
        for col, header in enumerate(columns):
            sheet.write_string(HEADER_ROW, col, header, bold)
        for offset, row in enumerate(rows):
            for col, value in enumerate(row):
                if value != "":
                    sheet.write_string(HEADER_ROW + 1 + offset, col, value, text)
    book.close()
    return out.getvalue()
