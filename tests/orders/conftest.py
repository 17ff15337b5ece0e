"""Assertions shared by the order, payment and ticket tests."""


def error(response):
    return response.status_code, response.json["error"]["code"]
