"""Money is an integer amount of minor units plus an ISO 4217 currency code."""

# Active ISO 4217 currency codes (2025 list; XCG replaced ANG in 2025, both still circulate).
CURRENCIES = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY
TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""".split())

# ISO 4217 minor-unit exponents other than 2, for the active currencies that have them.
EXPONENTS = {**dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(), 0),
             **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3)}

# Stripe's own view of amounts (https://docs.stripe.com/currencies): its zero-decimal currencies take whole
# units; ISK is zero-decimal in ISO but two-decimal at Stripe, in multiples of 100; its three-decimal
# currencies need the last digit 0.
STRIPE_ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
STRIPE_TWO_DECIMAL_WHOLE = frozenset({"ISK"})


def exponent(currency):
    return EXPONENTS.get(currency, 2)


def format_money(amount, currency):
    digits = exponent(currency)
    if digits == 0:
        return f"{amount} {currency}"
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10 ** digits)
    return f"{sign}{whole}.{minor:0{digits}d} {currency}"


def to_stripe(amount, currency):
    """Minor units (ISO 4217) as Stripe's ``amount``; ValueError when Stripe cannot charge it exactly."""
    digits, stripe_digits = exponent(currency), 2
    if currency in STRIPE_ZERO_DECIMAL:
        stripe_digits = 0
    elif digits == 3:
        stripe_digits = 3
        if amount % 10:
            raise ValueError(f"Stripe charges {currency} in multiples of 10 thousandths")
    if currency in STRIPE_TWO_DECIMAL_WHOLE:
        return amount * 100
    shift = stripe_digits - digits
    if shift >= 0:
        return amount * 10 ** shift
    if amount % 10 ** -shift:
        raise ValueError(f"Stripe charges {currency} in whole units")
    return amount // 10 ** -shift


def from_stripe(amount, currency):
    """Stripe's ``amount`` in ISO 4217 minor units: the inverse of ``to_stripe``."""
    digits = exponent(currency)
    if currency in STRIPE_TWO_DECIMAL_WHOLE:
        return amount // 100
    stripe_digits = 0 if currency in STRIPE_ZERO_DECIMAL else 3 if digits == 3 else 2
    shift = stripe_digits - digits
    return amount // 10 ** shift if shift >= 0 else amount * 10 ** -shift
