"""The configuration files of the services network (tests/services.py): InspIRCd 3 + Atheme 7."""

from __future__ import annotations

INSPIRCD_MODULES = [
    "spanningtree",
    "services_account",  # account names, +r; Atheme requires it
    "sasl",
    "cap",
    "ircv3",  # account-notify, away-notify, extended-join
    "ircv3_accounttag",
    "ircv3_chghost",
    "chghost",
    "monitor",
    "deaf",  # user mode +d
    "ssl_gnutls",  # the TLS module Debian builds (no ssl_openssl)
    "sslinfo",  # TLS client certificate fingerprints for services (CertFP)
    "svshold",
    "servprotect",
    "hidechans",
    "globops",
    "chgident",
    "topiclock",
]
# WHOX is built into InspIRCd 3's core WHO; there is no module to load for it.

# Two connect classes: the test clients' port floods freely; the bot's ports keep InspIRCd's
# normal limits (fake lag, command rate). Everyone comes from 127.0.0.1, so the per-IP
# connection counts are raised for both.
INSPIRCD_CONF = """\
<server name="{server_name}" description="highlightd services test" network="{network}" id="1HL">
<admin name="tests" nick="tests" email="tests@example.com">
{modules}
<sslprofile name="good" provider="gnutls" certfile="{good_cert}" keyfile="{good_key}"
            requestclientcert="yes" hash="sha256">
<sslprofile name="selfsigned" provider="gnutls" certfile="{self_cert}" keyfile="{self_key}">
<sslprofile name="wrongname" provider="gnutls" certfile="{wrong_cert}" keyfile="{wrong_key}">
<bind address="{host}" port="{port}" type="clients">
<bind address="{host}" port="{tls_port}" type="clients" sslprofile="good">
<bind address="{host}" port="{test_port}" type="clients">
<bind address="{host}" port="{self_signed_port}" type="clients" sslprofile="selfsigned">
<bind address="{host}" port="{wrong_name_port}" type="clients" sslprofile="wrongname">
<bind address="{host}" port="{link_port}" type="servers">
<link name="{services_name}" ipaddr="{host}" port="{link_port}" allowmask="{host}"
      sendpass="{link_password}" recvpass="{link_password}">
<uline server="{services_name}" silent="yes">
<sasl target="{services_name}" requiressl="no">
<connect name="testclients" allow="*" port="{test_port}" timeout="60" pingfreq="120"
         threshold="100000" commandrate="100000000" fakelag="off" hardsendq="4194304"
         softsendq="4194304" recvq="65536" localmax="100000" globalmax="100000"
         resolvehostnames="no" useident="no" maxconnwarn="off">
<connect name="main" allow="*" timeout="60" pingfreq="120" localmax="100000" globalmax="100000"
         resolvehostnames="no" useident="no" maxconnwarn="off">
<dns timeout="1">
<pid file="{workdir}/inspircd.pid">
<files motd="{workdir}/motd.txt">
<log method="file" type="* -USERINPUT -USEROUTPUT -MODULE" level="default"
     target="{workdir}/inspircd.log">
<options>
<security>
<performance>
<whowas groupsize="0" maxgroups="0" maxkeep="3d">
"""

ATHEME_MODULES = [
    "protocol/inspircd",
    "backend/opensex",
    "crypto/pbkdf2v2",
    "nickserv/main",
    "nickserv/register",
    "nickserv/identify",
    "nickserv/cert",  # CERT ADD: CertFP logins (SASL EXTERNAL)
    "nickserv/info",
    "nickserv/ghost",
    "nickserv/drop",
    "nickserv/help",
    "saslserv/main",
    "saslserv/plain",
    "saslserv/external",
]

# auth = none: REGISTER needs no e-mail confirmation. ratelimit_uses/flood_msgs = 0: no limit
# on registrations or commands (every test client comes from 127.0.0.1).
ATHEME_CONF = """\
{modules}
serverinfo {{
    name = "{services_name}";
    desc = "highlightd test services";
    numeric = "0HS";
    recontime = 1;
    netname = "{network}";
    hidehostsuffix = "users.test";
    adminname = "tests";
    adminemail = "tests@example.com";
    registeremail = "tests@example.com";
    mta = "/bin/false";
    loglevel = {{ error; info; admin; network; }};
    maxlogins = 1000;
    maxusers = 1000;
    mdlimit = 30;
    emaillimit = 10;
    emailtime = 300;
    auth = none;
    casemapping = rfc1459;
}};
uplink "{server_name}" {{
    host = "{host}";
    password = "{link_password}";
    port = {link_port};
}};
nickserv {{
    nick = "NickServ";
    user = "NickServ";
    host = "{services_name}";
    real = "Nickname Services";
    maxnicks = 5;
    expire = 30;
}};
saslserv {{
    nick = "SaslServ";
    user = "SaslServ";
    host = "{services_name}";
    real = "SASL Authentication Agent";
}};
general {{
    flood_msgs = 0;
    flood_time = 10;
    ratelimit_uses = 0;
    ratelimit_period = 60;
    kline_time = 7;
    commit_interval = 60;
    uplink_sendq_limit = 1048576;
    language = "en";
    immune_level = immune;
}};
"""


def inspircd_conf(**values: object) -> str:
    modules = "\n".join(f'<module name="{name}">' for name in INSPIRCD_MODULES)
    return INSPIRCD_CONF.format(modules=modules, **values)


def atheme_conf(**values: object) -> str:
    modules = "\n".join(f'loadmodule "modules/{name}";' for name in ATHEME_MODULES)
    return ATHEME_CONF.format(modules=modules, **values)
