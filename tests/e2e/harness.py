"""End-to-end harness: runs a real `simplead` on loopback ports chosen at run
time and drives it with the real ldap-utils tools and python-ldap.

Binaries come from $SIMPLEAD_BIN / $SIMPLEAD_ADMIN_BIN (set by meson), or from
`--build-dir DIR` on a test script's command line (manual runs), or from
/work/main/build-e2e as a last resort. Every wait here is bounded in time.

Run one file by hand:
  /usr/bin/python3 tests/e2e/test_bind.py --build-dir build-e2e [-v] [Class.test]
Set SIMPLEAD_E2E_KEEP=1 to keep the temporary data dirs and logs.
"""

import atexit
import base64
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import ldap  # Debian's python3-ldap: run these scripts with /usr/bin/python3
import ldap.controls

DEFAULT_BUILD_DIR = '/work/main/build-e2e'
DOMAIN = 'corp.example.com'
SUFFIX = 'DC=corp,DC=example,DC=com'
USERS = 'CN=Users,' + SUFFIX
ADMIN_DN = 'CN=Administrator,' + USERS
ADMIN_UPN = 'administrator@' + DOMAIN
ADMIN_PASSWORD = 'E2e-Admin-Pa55!'

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
TOOL_TIMEOUT = 120.0


def simplead_bin():
    return os.environ.get('SIMPLEAD_BIN') or os.path.join(DEFAULT_BUILD_DIR, 'server', 'simplead')


def simplead_admin_bin():
    return os.environ.get('SIMPLEAD_ADMIN_BIN') or os.path.join(DEFAULT_BUILD_DIR, 'server', 'simplead-admin')


_LIVE = set()  # servers still running, stopped at exit so none outlives the tests


def _stop_all():
    for server in list(_LIVE):
        try:
            server.kill9()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(_stop_all)


def _die_with_parent():
    # PR_SET_PDEATHSIG = 1: the server gets SIGKILL if the test runner dies
    # (e.g. killed by a meson timeout), so no orphan keeps a port or a dir.
    try:
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


def free_port():
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_env():
    env = dict(os.environ)
    # Ignore /etc/ldap/ldap.conf and ~/.ldaprc (LDAPNOINIT would also drop
    # the LDAPTLS_* variables we need).
    env.pop('LDAPNOINIT', None)
    env['LDAPCONF'] = '/dev/null'
    env['LDAPRC'] = 'simplead-e2e-no-such-ldaprc'
    env['LDAPTLS_REQCERT'] = 'never'
    return env


def run(argv, input=None, timeout=TOOL_TIMEOUT, env=None):
    """Runs a command, returns (returncode, stdout, stderr) as text."""
    if isinstance(input, str):
        input = input.encode()
    p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=env or tool_env())
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def run_admin(*args, timeout=TOOL_TIMEOUT):
    return run([simplead_admin_bin()] + [str(a) for a in args], timeout=timeout)


BINARY_ATTRIBUTES = frozenset({'objectsid', 'objectguid'})


def parse_ldif(text):
    """Parses `ldapsearch -LLL` output (after unwrapping) into a list of
    (dn, {attr_lower: [values]}). Base64 values are decoded: str if UTF-8, else bytes.
    Binary attributes (BINARY_ATTRIBUTES) are always bytes: a random SID or
    GUID is now and then valid UTF-8, and must not turn into a str then."""
    entries = []
    lines = []
    for line in text.split('\n'):
        if line.startswith(' ') and lines:
            lines[-1] += line[1:]
        else:
            lines.append(line)
    cur = None
    for line in lines:
        if not line.strip():
            if cur is not None:
                entries.append(cur)
            cur = None
            continue
        if line.startswith('#'):
            continue
        key, _, rest = line.partition(':')
        if rest.startswith(':'):
            raw = base64.b64decode(rest[1:].strip())
            try:
                value = raw if key.lower() in BINARY_ATTRIBUTES else raw.decode('utf-8')
            except UnicodeDecodeError:
                value = raw
        else:
            value = rest.strip()
        if cur is None:
            # Records that do not start with dn: (e.g. "search: 2 / result: 0"
            # without -LLL) are not entries.
            cur = (value, {}) if key.lower() == 'dn' else ('', None)
            continue
        if cur[1] is not None:
            cur[1].setdefault(key.lower(), []).append(value)
    if cur is not None:
        entries.append(cur)
    entries = [e for e in entries if e[1] is not None]
    return entries


def dns_of(text):
    return [dn for dn, _ in parse_ldif(text)]


class SimpleAD:
    """One simplead process with its own data dir and ports."""

    def __init__(self, base_dir=None, mode='ad', domain=DOMAIN, suffix='dc=example,dc=com', extra_args=(),
                 data_dir=None, admin_password=ADMIN_PASSWORD, ldaps=False, fast_hash=True, name='server'):
        self.base_dir = base_dir or tempfile.mkdtemp(prefix='simplead-e2e-')
        self.data_dir = data_dir or os.path.join(self.base_dir, 'data')
        self.mode = mode
        self.domain = domain
        self.suffix = SUFFIX if mode == 'ad' else suffix
        self.admin_dn = ADMIN_DN if mode == 'ad' else 'cn=admin,' + suffix
        self.admin_password = admin_password
        self.extra_args = list(extra_args)
        self.ldaps = ldaps
        self.fast_hash = fast_hash
        self.log_path = os.path.join(self.base_dir, name + '.log')
        self.proc = None
        self.fixed_port = None  # set to reuse a port named in a config file
        self.port = None
        self.ldaps_port = None
        self._log = None

    # -- lifecycle ---------------------------------------------------------
    def argv(self):
        a = [simplead_bin(), '--data-dir', self.data_dir, '--listen', '127.0.0.1:%d' % self.port,
             '--ldaps-listen', ('127.0.0.1:%d' % self.ldaps_port) if self.ldaps else '']
        if self.mode == 'ad':
            a += ['--domain', self.domain]
        else:
            a += ['--suffix', self.suffix]
        if self.fast_hash:
            a += ['--argon2-memory-kib', '1024', '--argon2-iterations', '1']
        return a + self.extra_args

    def start(self, timeout=START_TIMEOUT):
        assert self.proc is None, 'already running'
        os.makedirs(self.base_dir, exist_ok=True)
        last_error = None
        for _attempt in range(3):  # a picked port may be taken meanwhile
            self.port = self.fixed_port or free_port()
            self.ldaps_port = free_port() if self.ldaps else None
            env = dict(os.environ)
            env['SIMPLEAD_ADMIN_PASSWORD'] = self.admin_password
            self._log = open(self.log_path, 'ab')
            self._log.write(('\n=== start %s\n' % ' '.join(self.argv())).encode())
            self._log.flush()
            self.proc = subprocess.Popen(self.argv(), stdout=self._log, stderr=self._log, env=env,
                                         cwd=self.base_dir, preexec_fn=_die_with_parent)
            _LIVE.add(self)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(('127.0.0.1', self.port), timeout=1):
                        return self
                except OSError:
                    time.sleep(0.05)
            code = self.proc.poll()
            if code is None:
                self._kill_now()
                raise RuntimeError('simplead did not listen within %.0fs; log tail:\n%s' % (timeout, self.log_tail()))
            self._close_log()
            self.proc = None
            last_error = 'simplead exited with %s; log tail:\n%s' % (code, self.log_tail())
            if 'in use' not in last_error.lower():
                break
        raise RuntimeError(last_error)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=timeout)
            code = ('killed after SIGTERM timeout', code)
        self.proc = None
        _LIVE.discard(self)
        self._close_log()
        return code

    def kill9(self):
        if self.proc is None:
            return
        self._kill_now()

    def _kill_now(self):
        self.proc.send_signal(signal.SIGKILL)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        finally:
            self.proc = None
            _LIVE.discard(self)
            self._close_log()

    def _close_log(self):
        if self._log:
            self._log.close()
            self._log = None

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        if self.proc is not None:
            self.stop()
        if not os.environ.get('SIMPLEAD_E2E_KEEP'):
            shutil.rmtree(self.base_dir, ignore_errors=True)
        else:
            sys.stderr.write('kept %s\n' % self.base_dir)

    def log_text(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def log_tail(self, n=40):
        return '\n'.join(self.log_text().splitlines()[-n:])

    @property
    def url(self):
        return 'ldap://127.0.0.1:%d' % self.port

    @property
    def ldaps_url(self):
        return 'ldaps://127.0.0.1:%d' % self.ldaps_port

    # -- ldap-utils --------------------------------------------------------
    def _auth(self, bind):
        """bind: 'admin' | None (anonymous) | (dn, password)."""
        if bind is None:
            return ['-x']
        if bind == 'admin':
            bind = (self.admin_dn, self.admin_password)
        return ['-x', '-D', bind[0], '-w', bind[1]]

    def tool(self, name, args=(), input=None, bind='admin', timeout=TOOL_TIMEOUT, url=None):
        argv = [name, '-H', url or self.url] + self._auth(bind) + [str(a) for a in args]
        return run(argv, input=input, timeout=timeout)

    def ldapsearch(self, *args, base=None, bind='admin', ldif=True, timeout=TOOL_TIMEOUT):
        """ldapsearch -LLL -o ldif_wrap=no -b base ARGS..."""
        pre = ['-LLL', '-o', 'ldif_wrap=no'] if ldif else ['-o', 'ldif_wrap=no']
        pre += ['-b', self.suffix if base is None else base]
        return self.tool('ldapsearch', pre + list(args), bind=bind, timeout=timeout)

    def ldapmodify(self, ldif, *args, bind='admin'):
        return self.tool('ldapmodify', list(args), input=ldif, bind=bind)

    def ldapadd(self, ldif, *args, bind='admin'):
        return self.tool('ldapadd', list(args), input=ldif, bind=bind)

    def ldapdelete(self, *args, bind='admin'):
        return self.tool('ldapdelete', list(args), bind=bind)

    def ldapmodrdn(self, *args, bind='admin'):
        return self.tool('ldapmodrdn', list(args), bind=bind)

    def ldapcompare(self, *args, bind='admin'):
        return self.tool('ldapcompare', list(args), bind=bind)

    def ldapwhoami(self, *args, bind='admin'):
        return self.tool('ldapwhoami', list(args), bind=bind)

    def ldappasswd(self, *args, bind='admin'):
        return self.tool('ldappasswd', list(args), bind=bind)

    def ldapexop(self, *args, bind='admin'):
        return self.tool('ldapexop', list(args), bind=bind)

    def admin(self, *args, timeout=TOOL_TIMEOUT):
        return run_admin(*args, timeout=timeout)

    # -- python-ldap -------------------------------------------------------
    def connect(self, bind='admin', timeout=10):
        conn = ldap.initialize(self.url)
        conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, timeout)
        conn.set_option(ldap.OPT_TIMEOUT, timeout)
        if bind == 'admin':
            bind = (self.admin_dn, self.admin_password)
        if bind is not None:
            conn.simple_bind_s(bind[0], bind[1])
        return conn

    # -- helpers -----------------------------------------------------------
    def search_dns(self, filt, *attrs, base=None, scope='sub', bind='admin'):
        rc, out, err = self.ldapsearch('-s', scope, filt, *(attrs or ['1.1']), base=base, bind=bind)
        if rc != 0:
            raise AssertionError('ldapsearch %s failed rc=%d: %s' % (filt, rc, err))
        return dns_of(out)

    def get(self, dn, *attrs, bind='admin'):
        """The entry's attributes (lower-case keys) or None if it does not exist."""
        rc, out, err = self.ldapsearch('-s', 'base', '(objectClass=*)', *(attrs or ['*', '+']), base=dn, bind=bind)
        if rc == 32:
            return None
        if rc != 0:
            raise AssertionError('read of %s failed rc=%d: %s' % (dn, rc, err))
        entries = parse_ldif(out)
        return entries[0][1] if entries else None


def user_ldif(cn, parent=USERS, password='Zk4-Vq8-Lw2!', extra=()):
    lines = ['dn: CN=%s,%s' % (cn, parent), 'objectClass: top', 'objectClass: person',
             'objectClass: organizationalPerson', 'objectClass: user', 'cn: %s' % cn,
             'sAMAccountName: %s' % cn, 'userPrincipalName: %s@%s' % (cn, DOMAIN)]
    if password:
        lines.append('userPassword: %s' % password)
    lines += list(extra)
    return '\n'.join(lines) + '\n\n'


def group_ldif(cn, members=(), parent=USERS, extra=()):
    lines = ['dn: CN=%s,%s' % (cn, parent), 'objectClass: top', 'objectClass: group', 'cn: %s' % cn,
             'sAMAccountName: %s' % cn]
    lines += ['member: %s' % m for m in members]
    lines += list(extra)
    return '\n'.join(lines) + '\n\n'


def modify_ldif(target, *changes):
    """An LDIF modify record; each change is (op, attr, [values])."""
    text = 'dn: %s\nchangetype: modify\n' % target
    for op, attr, values in changes:
        text += '%s: %s\n' % (op, attr)
        for v in values:
            text += '%s: %s\n' % (attr, v)
        text += '-\n'
    return text


def ou_ldif(ou, parent=SUFFIX):
    return 'dn: OU=%s,%s\nobjectClass: top\nobjectClass: organizationalUnit\nou: %s\n\n' % (ou, parent, ou)


class ServerTestCase(unittest.TestCase):
    """A test class with its own server, started once for the class."""

    server_kwargs = {}
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = SimpleAD(**cls.server_kwargs)
        try:
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.cleanup()

    # -- assertions --------------------------------------------------------
    def assertRc(self, result, expected, what=''):
        rc, out, err = result
        self.assertEqual(rc, expected, '%s: expected rc=%d, got rc=%d\nstdout: %s\nstderr: %s'
                         % (what, expected, rc, out[-2000:], err[-2000:]))
        return result

    def assertOk(self, result, what=''):
        return self.assertRc(result, 0, what)

    def add(self, ldif, what='add'):
        return self.assertOk(self.server.ldapadd(ldif), what)


def main():
    """unittest.main() that first takes `--build-dir DIR` off the command line."""
    argv = list(sys.argv)
    if '--build-dir' in argv:
        i = argv.index('--build-dir')
        build = os.path.abspath(argv[i + 1])
        del argv[i:i + 2]
        os.environ['SIMPLEAD_BIN'] = os.path.join(build, 'server', 'simplead')
        os.environ['SIMPLEAD_ADMIN_BIN'] = os.path.join(build, 'server', 'simplead-admin')
    for b in (simplead_bin(), simplead_admin_bin()):
        if not os.access(b, os.X_OK):
            sys.stderr.write('e2e: %s is not an executable; set SIMPLEAD_BIN/SIMPLEAD_ADMIN_BIN or --build-dir\n' % b)
            sys.exit(1)
    unittest.main(argv=argv, verbosity=2)
