"""A throwaway PostgreSQL 15 cluster for tests: initdb in a temp dir, start on a free port, drop it after.

PostgreSQL refuses to run as root, so as root the cluster runs as ``nobody`` (through ``runuser``); as any
other user it runs as that user. Listens on 127.0.0.1 only, trust auth, fsync off (it is thrown away).

    python -m tests.api.pg_cluster      # start one, print its URL, stop it on Ctrl-C
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from backend.chain.local import free_port
from tests.support.server import wait_for

PG_BIN_DIRS = (
    Path("/usr/lib/postgresql/15/bin"),
    Path("/usr/lib/postgresql/16/bin"),
    Path("/usr/lib/postgresql/17/bin"),
)
SUPERUSER = "postgres"


def find_pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for folder in PG_BIN_DIRS:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass
class ThrowawayPostgres:
    """One cluster; ``start()`` then ``url(dbname)`` / ``create_database(name)``; ``stop()`` deletes it all."""

    bin_dir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fedshield-pg-")))
    port: int = field(default_factory=free_port)
    _run_as: str | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self._run_as, "--", *args] if self._run_as else list(args)

    def start(self) -> ThrowawayPostgres:
        if os.geteuid() == 0:
            self._run_as = "nobody"
            user = pwd.getpwnam(self._run_as)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        os.chmod(self.root, 0o700)
        initdb = self._cmd(
            str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        subprocess.run(initdb, check=True, capture_output=True, cwd=self.root)
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        start = self._cmd(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.root / "postgres.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        subprocess.run(start, check=True, capture_output=True, cwd=self.root)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        import psycopg

        def accepts() -> bool:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                return False

        wait_for(accepts, timeout_s, f"PostgreSQL on port {self.port} to accept connections")

    def dsn(self, dbname: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A fresh, empty database; returns its URL in the form Supabase prints (postgresql://...)."""
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        if self.data_dir.exists():
            stop = self._cmd(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"
            )
            subprocess.run(stop, capture_output=True, cwd=self.root, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def main() -> None:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries not found (looked in /usr/lib/postgresql/*/bin and PATH)")
    cluster = ThrowawayPostgres(bin_dir).start()
    print(cluster.create_database("fedshield"), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
