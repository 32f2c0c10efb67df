"""Helpers of the browser journeys: the demo password, signing in and out in Chromium."""

import re

DEMO_PASSWORD = "sharehub-demo"


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def sign_in(page, base, email, password):
    page.goto(f"{base}/account/signin")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
    page.wait_for_selector("#usermenu")


def sign_out(page):
    page.click("#usermenu")
    page.click("text=退出登录")
    page.wait_for_selector("text=登录")
