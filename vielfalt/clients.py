"""The client's address as the portal's own front door saw it.

Behind the TLS-terminating proxy the deployment puts in front (README, "Deployment"), REMOTE_ADDR is the proxy's
address for every request: the survey's code throttle then counted every typing mistake of a whole city against
one address, so that thirty typos on launch morning closed the code form for everyone for fifteen minutes. The
proxy appends the address it received the request from to `X-Forwarded-For`; what stands before that entry the
client wrote itself and may have made up. So with `TRUSTED_PROXIES` proxies in front (one by default behind the
TLS proxy, none otherwise), the client is the entry that many places from the end.

(django-ipware answers a wider question, the "best" address among some thirty headers, preferring a public one
by default; the throttle needs exactly this one rule, which a client cannot talk its way around.)"""

from ipaddress import ip_address

from django.conf import settings


def client_address(request) -> str:
    """The address of whoever sent `request` to the first trusted proxy, or REMOTE_ADDR without proxies (and
    when a request did not come through them: no header, or fewer entries than proxies)."""
    proxies = settings.TRUSTED_PROXIES
    remote = request.META.get("REMOTE_ADDR", "")
    if not proxies:
        return remote
    entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(entries) < proxies or not entries[-proxies]:
        return remote
    candidate = entries[-proxies]
    try:
        return str(ip_address(candidate))
    except ValueError:  # not an address (a proxy that writes "unknown", or a port): the proxy's own address
        return remote
