"""amavisd-new as a relay to compare with, when it is installed (it is never required).

Configured the way it would stand in front of a mail system for content checks only:
4 children, the virus and spam scanners bypassed (this gateway has neither), MIME
decoding, file typing and the banned-name and header checks left on, every message
forwarded by SMTP to the benchmark's sink. amavisd refuses a configuration file in a
folder its user can write, so the file sits in a root-owned folder and its working
folder (the daemon's home) beside it, owned by the `amavis` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from bench.relay import Server, free_port

CHILDREN = 4


def amavisd_binary() -> str | None:
    """The amavisd-new program, if installed (Debian names it `amavisd`)."""
    return shutil.which("amavisd-new") or shutil.which("amavisd")


def _config(home: Path, port: int, sink_port: int, user: str | None) -> str:
    owner = f"$daemon_user = '{user}';\n$daemon_group = '{user}';\n" if user else ""
    return (
        "use strict;\n"
        f"$MYHOME = '{home}';\n$TEMPBASE = \"$MYHOME/tmp\";\n$db_home = \"$MYHOME/db\";\n"
        "$pid_file = \"$MYHOME/amavisd.pid\";\n$lock_file = \"$MYHOME/amavisd.lock\";\n"
        f"{owner}$max_servers = {CHILDREN};\n"
        f"$inet_socket_port = {port};\n$inet_socket_bind = '127.0.0.1';\n"
        "@inet_acl = qw(127.0.0.1);\n"
        f"$forward_method = 'smtp:[127.0.0.1]:{sink_port}';\n"
        "$notify_method = $forward_method;\n"
        "@bypass_virus_checks_maps = (1);\n@bypass_spam_checks_maps = (1);\n"
        "$enable_db = 0;\n$enable_zmq = 0;\n$enable_dkim_verification = 0;\n"
        "$myhostname = 'amavis.bench.test';\n$mydomain = 'bench.test';\n"
        "@local_domains_maps = (1);\n$do_syslog = 0;\n"
        "$LOGFILE = \"$MYHOME/amavis.log\";\n$log_level = 0;\n1;\n"
    )


def amavisd_server(work: Path, sink_port: int) -> Server | None:
    """amavisd-new listening on a free port and relaying to `sink_port`, or None."""
    binary = amavisd_binary()
    if binary is None:
        return None
    folder = work / "amavis"
    home = folder / "home"
    for sub in ("tmp", "db"):
        (home / sub).mkdir(parents=True)
    folder.chmod(0o755)
    work.chmod(0o755)  # the daemon's user must reach its home
    user = None
    if os.geteuid() == 0:
        user = "amavis"
        entry = pwd.getpwnam(user)
        for path in (home, home / "tmp", home / "db"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    config = folder / "amavisd.conf"
    config.write_text(_config(home, port, sink_port, user))
    return Server(f"amavisd-new x{CHILDREN}", [binary, "-c", str(config), "foreground"], port)
