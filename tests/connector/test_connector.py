"""End-to-end tests of adconnector (issue 5) against real upstreams started
here on loopback ports chosen at run time: a `simplead` (AD layout) and an
OpenLDAP `slapd` (Debian's, private instance with the memberof overlay)
holding the same users; FreeRADIUS (private instance) for MFA.

Binaries: $SIMPLEAD_BIN and $ADCONNECTOR_BIN (set by meson), or
--build-dir DIR for manual runs:
  /usr/bin/python3 tests/connector/test_connector.py --build-dir build-connector [-v]
Every wait is bounded. SIMPLEAD_E2E_KEEP=1 keeps the temporary directory.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

DOMAIN = 'corp.example.com'
SUFFIX = 'DC=corp,DC=example,DC=com'
USERS = 'CN=Users,' + SUFFIX
ALICE_DN = 'CN=alice,' + USERS
ALICE_UPN = 'alice@' + DOMAIN
# Longer than 15 bytes so that no copy hides in a std::string's inline buffer.
ALICE_PASSWORD = 'Wonder-Corp-Pa55word-7Qx!'  # no account name in it: AD complexity
SVC_DN = 'CN=svc-connector,' + USERS
SVC_PASSWORD = 'Svc-Gateway-Secret-9Kz!'
ADMIN_PASSWORD = 'E2e-Admin-Pa55!'
SLAPD_ROOTDN = 'cn=admin,' + SUFFIX.lower()
SLAPD_ROOTPW = 'Slapd-Root-Pa55!'
RADIUS_SECRET = 'Radius-Shared-Secret-1'
OTP = '314159'

BUILD_DIR = None
START_TIMEOUT = 30.0


def binary(env, *relative):
    if os.environ.get(env):
        return os.environ[env]
    return os.path.join(BUILD_DIR or '/work/main/build-connector', *relative)


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_env():
    env = dict(os.environ)
    env['LDAPNOINIT'] = '1'
    return env


def run(argv, input=None, timeout=60):
    if isinstance(input, str):
        input = input.encode()
    p = subprocess.run([str(a) for a in argv], input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=tool_env())
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def wait_port(port, proc, timeout=START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError('process exited with %s' % proc.returncode)
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('port %d did not open within %ss' % (port, timeout))


def stop(proc, sig=signal.SIGTERM):
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def whoami(port, name, password, timeout=20):
    return run(['ldapwhoami', '-x', '-H', 'ldap://127.0.0.1:%d' % port, '-D', name, '-w', password],
               timeout=timeout)


class Simplead:
    def __init__(self, root):
        self.dir = os.path.join(root, 'simplead')
        self.port = free_port()
        self.log = os.path.join(root, 'simplead.log')
        self.proc = None

    def start(self):
        env = dict(os.environ, SIMPLEAD_ADMIN_PASSWORD=ADMIN_PASSWORD)
        self.proc = subprocess.Popen(
            [binary('SIMPLEAD_BIN', 'server', 'simplead'), '--domain', DOMAIN, '--data-dir', self.dir,
             '--listen', '127.0.0.1:%d' % self.port, '--ldaps-listen', '', '--argon2-memory-kib', '1024',
             '--argon2-iterations', '1', '--sync-writes', 'false'],
            stdout=open(self.log, 'ab'), stderr=subprocess.STDOUT, env=env)
        wait_port(self.port, self.proc)

    def url(self):
        return 'ldap://127.0.0.1:%d' % self.port

    def populate(self):
        ldif = ''
        for cn, password in (('alice', ALICE_PASSWORD), ('svc-connector', SVC_PASSWORD)):
            ldif += ('dn: CN=%s,%s\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n'
                     'objectClass: user\ncn: %s\nsAMAccountName: %s\nuserPrincipalName: %s@%s\n'
                     'mail: %s@%s\nuserPassword: %s\n\n' % (cn, USERS, cn, cn, cn, DOMAIN, cn, DOMAIN, password))
        ldif += ('dn: CN=staff,%s\nobjectClass: top\nobjectClass: group\ncn: staff\nsAMAccountName: staff\n'
                 'member: %s\n\n' % (USERS, ALICE_DN))
        rc, out, err = run(['ldapadd', '-x', '-H', self.url(), '-D', 'Administrator@' + DOMAIN, '-w',
                            ADMIN_PASSWORD], input=ldif)
        if rc != 0:
            raise RuntimeError('simplead ldapadd failed: %s %s' % (out, err))


class Slapd:
    def __init__(self, root):
        self.dir = os.path.join(root, 'slapd')
        os.makedirs(os.path.join(self.dir, 'db'))
        self.port = free_port()
        self.conf = os.path.join(self.dir, 'slapd.conf')
        with open(self.conf, 'w') as f:
            f.write('include /etc/ldap/schema/core.schema\n'
                    'include /etc/ldap/schema/cosine.schema\n'
                    'include /etc/ldap/schema/inetorgperson.schema\n'
                    'pidfile %s/slapd.pid\n'
                    'modulepath /usr/lib/ldap\nmoduleload back_mdb\nmoduleload memberof\n'
                    'database mdb\nmaxsize 33554432\nsuffix "%s"\nrootdn "%s"\nrootpw %s\ndirectory %s/db\n'
                    'overlay memberof\n' % (self.dir, SUFFIX.lower(), SLAPD_ROOTDN, SLAPD_ROOTPW, self.dir))
        self.proc = None

    def url(self):
        return 'ldap://127.0.0.1:%d' % self.port

    def start(self):
        self.proc = subprocess.Popen(['/usr/sbin/slapd', '-h', self.url() + '/', '-f', self.conf, '-d', '0'],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, 'log'), 'ab'))
        wait_port(self.port, self.proc)

    def populate(self):
        ldif = ('dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: corp\ndc: corp\n\n'
                'dn: %s\nobjectClass: organizationalRole\ncn: Users\n\n' % (SUFFIX, USERS))
        for cn, password in (('alice', ALICE_PASSWORD), ('svc-connector', SVC_PASSWORD)):
            ldif += ('dn: CN=%s,%s\nobjectClass: inetOrgPerson\ncn: %s\nsn: %s\nuid: %s\nmail: %s@%s\n'
                     'userPassword: %s\n\n' % (cn, USERS, cn, cn, cn, cn, DOMAIN, password))
        ldif += 'dn: CN=staff,%s\nobjectClass: groupOfNames\ncn: staff\nmember: %s\n\n' % (USERS, ALICE_DN)
        rc, out, err = run(['ldapadd', '-x', '-H', self.url(), '-D', SLAPD_ROOTDN, '-w', SLAPD_ROOTPW], input=ldif)
        if rc != 0:
            raise RuntimeError('slapd ldapadd failed: %s %s' % (out, err))


class FreeRadius:
    def __init__(self, root):
        self.dir = os.path.join(root, 'radius')
        os.makedirs(self.dir)
        self.port = free_port(socket.SOCK_DGRAM)
        self.secret_file = os.path.join(root, 'radius.secret')
        with open(self.secret_file, 'w') as f:
            f.write(RADIUS_SECRET + '\n')
        d = self.dir
        with open(os.path.join(d, 'users'), 'w') as f:
            f.write('alice Cleartext-Password := "%s"\n' % OTP)
        with open(os.path.join(d, 'radiusd.conf'), 'w') as f:
            f.write('''prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = {d}
sbindir = /usr/sbin
logdir = {d}
raddbdir = {d}
radacctdir = {d}
name = freeradius
confdir = {d}
modconfdir = {d}
run_dir = {d}
db_dir = {d}
libdir = /usr/lib/freeradius
dictdir = /usr/share/freeradius
pidfile = {d}/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
log {{
  destination = stdout
}}
security {{
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}}
client localhost {{
  ipaddr = 127.0.0.1
  secret = {secret}
}}
thread pool {{
  start_servers = 1
  max_servers = 2
  min_spare_servers = 1
  max_spare_servers = 2
  max_requests_per_server = 0
}}
modules {{
  pap {{
  }}
  files {{
    filename = {d}/users
  }}
}}
server default {{
  listen {{
    type = auth
    ipaddr = 127.0.0.1
    port = {port}
  }}
  authorize {{
    files
    pap
  }}
  authenticate {{
    Auth-Type PAP {{
      pap
    }}
  }}
}}
'''.format(d=d, secret=RADIUS_SECRET, port=self.port))
        self.log = os.path.join(d, 'radiusd.log')
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(['freeradius', '-X', '-d', self.dir], stdout=open(self.log, 'ab'),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('freeradius exited: ' + open(self.log).read()[-2000:])
            if 'Ready to process requests' in open(self.log, errors='replace').read():
                return
            time.sleep(0.1)
        raise RuntimeError('freeradius did not start')


class Connector:
    def __init__(self, root, name, upstreams, extra=None):
        self.dir = os.path.join(root, name)
        self.port = free_port()
        self.log = os.path.join(root, name + '.log')
        self.access_log = os.path.join(root, name + '-access.log')
        self.password_file = os.path.join(root, name + '-svc.pw')
        with open(self.password_file, 'w') as f:
            f.write(SVC_PASSWORD + '\n')
        self.config = os.path.join(root, name + '.toml')
        lines = ['domain = "%s"' % DOMAIN,
                 'listen = "127.0.0.1:%d"' % self.port,
                 'data-dir = "%s"' % self.dir,
                 'upstream = [%s]' % ', '.join('"%s"' % u for u in upstreams),
                 'upstream-starttls = false',
                 'service-dn = "%s"' % SVC_DN,
                 'service-password-file = "%s"' % self.password_file,
                 'health-interval-ms = 300',
                 'failure-threshold = 2',
                 'cool-down-ms = 1000',
                 'connect-timeout-ms = 1000',
                 'operation-timeout = 5',
                 'access-log = "%s"' % self.access_log]
        for k, v in (extra or {}).items():
            lines.append('%s = %s' % (k, v))
        with open(self.config, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([binary('ADCONNECTOR_BIN', 'connector', 'adconnector'), '--config', self.config],
                                     stdout=open(self.log, 'ab'), stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc)
        # The password file was sealed at the first start; delete it as an operator would.
        if os.path.exists(self.password_file):
            os.unlink(self.password_file)

    def status(self):
        return run([binary('ADCONNECTOR_BIN', 'connector', 'adconnector'), 'status', '--data-dir', self.dir],
                   timeout=10)

    def upstream_state(self, index):
        rc, out, err = self.status()
        for line in out.splitlines():
            if line.startswith('upstream=%d ' % index):
                return line.split(' state=')[1].split()[0]
        return None


class Env:
    """Upstreams and connectors shared by the test classes."""
    root = None
    simplead = slapd = radius = None
    c1 = c2 = c3 = None  # [simplead, slapd]; [slapd, simplead] by mail/uid; [simplead, slapd] + RADIUS

    @classmethod
    def up(cls):
        if cls.root:
            return
        cls.root = tempfile.mkdtemp(prefix='adconnector-e2e-')
        cls.simplead = Simplead(cls.root)
        cls.simplead.start()
        cls.simplead.populate()
        cls.slapd = Slapd(cls.root)
        cls.slapd.start()
        cls.slapd.populate()
        cls.c1 = Connector(cls.root, 'c1', [cls.simplead.url(), cls.slapd.url()])
        cls.c1.start()
        cls.c2 = Connector(cls.root, 'c2', [cls.slapd.url(), cls.simplead.url()],
                           {'upn-attributes': '["mail"]', 'name-attributes': '["uid"]'})
        cls.c2.start()

    @classmethod
    def down(cls):
        for p in (cls.c1, cls.c2, cls.c3, cls.simplead, cls.slapd, cls.radius):
            if p is not None:
                stop(p.proc)
        if cls.root and not os.environ.get('SIMPLEAD_E2E_KEEP'):
            shutil.rmtree(cls.root, ignore_errors=True)
        elif cls.root:
            print('kept', cls.root, file=sys.stderr)


class SignInTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        Env.up()

    def test_upn_bind_succeeds_through_simplead(self):
        rc, out, err = whoami(Env.c1.port, ALICE_UPN, ALICE_PASSWORD)
        self.assertEqual(rc, 0, err)
        self.assertIn('cn=alice,cn=users', out.lower())
        self.assertIn('upstream=' + Env.simplead.url(), open(Env.c1.access_log).read())

    def test_upn_bind_succeeds_through_slapd(self):
        rc, out, err = whoami(Env.c2.port, ALICE_UPN, ALICE_PASSWORD)
        self.assertEqual(rc, 0, err)
        self.assertIn('cn=alice,cn=users', out.lower())
        self.assertIn('upstream=' + Env.slapd.url(), open(Env.c2.access_log).read())

    def test_netbios_and_dn_binds_succeed(self):
        for name in ('CORP\\alice', 'corp\\alice', ALICE_DN):
            rc, out, err = whoami(Env.c1.port, name, ALICE_PASSWORD)
            self.assertEqual(rc, 0, name + ': ' + err)

    def test_wrong_password_gives_49_with_the_upstream_diagnostic(self):
        for connector, upstream in ((Env.c1, Env.simplead), (Env.c2, Env.slapd)):
            rc, out, err = whoami(connector.port, ALICE_UPN, 'Wrong-Pa55word-123!')
            self.assertEqual(rc, 49, err)
            rc2, out2, err2 = run(['ldapwhoami', '-x', '-H', upstream.url(), '-D', ALICE_DN, '-w',
                                   'Wrong-Pa55word-123!'])
            self.assertEqual(rc2, 49)
            diag = [l for l in err2.splitlines() if 'additional info' in l]
            if diag:  # the upstream's own words, e.g. AD's "data 52e", come back verbatim
                self.assertIn(diag[0].strip(), err)

    def test_unknown_user_gives_49(self):
        rc, out, err = whoami(Env.c1.port, 'nobody@' + DOMAIN, ALICE_PASSWORD)
        self.assertEqual(rc, 49, err)

    def test_name_without_password_is_refused(self):
        rc, out, err = run(['ldapsearch', '-x', '-H', 'ldap://127.0.0.1:%d' % Env.c1.port, '-D', ALICE_UPN,
                            '-w', '', '-b', SUFFIX, '(cn=alice)'])
        self.assertEqual(rc, 53, err)

    def test_search_finds_users_and_groups_with_member_of(self):
        for connector in (Env.c1, Env.c2):
            rc, out, err = run(['ldapsearch', '-x', '-LLL', '-H', 'ldap://127.0.0.1:%d' % connector.port, '-D',
                                ALICE_UPN, '-w', ALICE_PASSWORD, '-b', SUFFIX, '(|(cn=alice)(cn=staff))',
                                'memberOf', 'cn'])
            self.assertEqual(rc, 0, err)
            low = out.lower()
            self.assertIn('dn: cn=alice,cn=users', low)
            self.assertIn('dn: cn=staff,cn=users', low)
            self.assertIn('memberof: cn=staff,cn=users', low)

    def test_paged_search_passes_through(self):
        rc, out, err = run(['ldapsearch', '-x', '-LLL', '-H', 'ldap://127.0.0.1:%d' % Env.c1.port, '-D',
                            ALICE_UPN, '-w', ALICE_PASSWORD, '-b', USERS, '-E', 'pr=1/noprompt',
                            '(|(cn=alice)(cn=staff)(cn=svc-connector))', 'cn'])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.lower().count('dn: '), 3)

    def test_compare_passes_through(self):
        rc, out, err = run(['ldapcompare', '-x', '-H', 'ldap://127.0.0.1:%d' % Env.c2.port, '-D', ALICE_UPN,
                            '-w', ALICE_PASSWORD, ALICE_DN, 'cn:alice'])
        self.assertEqual(rc, 6, out + err)

    def test_ldapmodify_gets_53(self):
        rc, out, err = run(['ldapmodify', '-x', '-H', 'ldap://127.0.0.1:%d' % Env.c1.port, '-D', ALICE_UPN,
                            '-w', ALICE_PASSWORD],
                           input='dn: %s\nchangetype: modify\nreplace: description\ndescription: x\n' % ALICE_DN)
        self.assertEqual(rc, 53, err)

    def test_anonymous_sees_only_the_connectors_root_dse(self):
        url = 'ldap://127.0.0.1:%d' % Env.c1.port
        rc, out, err = run(['ldapsearch', '-x', '-LLL', '-H', url, '-b', '', '-s', 'base', '(objectClass=*)', '*'])
        self.assertEqual(rc, 0, err)
        self.assertIn('vendorName: SimpleAD AD Connector', out)
        self.assertIn('namingContexts: ' + SUFFIX, out)
        rc, out, err = run(['ldapsearch', '-x', '-LLL', '-H', url, '-b', SUFFIX, '(cn=alice)'])
        self.assertNotEqual(rc, 0)
        self.assertNotIn('alice', out.lower())

    def test_status_lists_upstreams(self):
        rc, out, err = Env.c1.status()
        self.assertEqual(rc, 0, err)
        self.assertIn('upstream=1 url=' + Env.simplead.url() + ' state=up', out)
        self.assertIn('upstream=2 url=' + Env.slapd.url() + ' state=up', out)
        self.assertIn('rtt_ms=', out)

    def test_service_account_password_is_sealed_and_file_can_go(self):
        sealed = open(os.path.join(Env.c1.dir, 'service-account.sealed')).read()
        self.assertNotIn(SVC_PASSWORD, sealed)
        self.assertFalse(os.path.exists(Env.c1.password_file))
        self.assertEqual(os.stat(os.path.join(Env.c1.dir, 'connector.key')).st_mode & 0o077, 0)

    def test_audit_trail_records_sign_ins_in_cloudtrail_shape(self):
        whoami(Env.c1.port, ALICE_UPN, ALICE_PASSWORD)
        whoami(Env.c1.port, ALICE_UPN, 'Wrong-Pa55word-123!')
        text = open(os.path.join(Env.c1.dir, 'audit.log')).read()
        self.assertIn('"eventSource":"adconnector"', text)
        self.assertIn('"eventName":"Bind"', text)
        self.assertIn('"errorCode":"invalidCredentials"', text)
        self.assertNotIn('Wrong-Pa55word', text)
        self.assertNotIn(ALICE_PASSWORD, text)

    def test_rotate_service_account_without_restart(self):
        new_file = os.path.join(Env.root, 'new-svc.pw')
        with open(new_file, 'w') as f:
            f.write(SVC_PASSWORD + '\n')  # same value (the upstreams keep theirs): proves reseal + reload
        before = open(os.path.join(Env.c2.dir, 'service-account.sealed')).read()
        rc, out, err = run([binary('ADCONNECTOR_BIN', 'connector', 'adconnector'), 'rotate-service-account',
                            '--data-dir', Env.c2.dir, '--password-file', new_file], timeout=20)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out.strip(), 'ok')
        self.assertNotEqual(before, open(os.path.join(Env.c2.dir, 'service-account.sealed')).read())
        rc, out, err = whoami(Env.c2.port, ALICE_UPN, ALICE_PASSWORD)
        self.assertEqual(rc, 0, err)

    def test_zz_no_password_in_data_dir_logs_or_memory(self):
        for _ in range(30):
            rc, out, err = whoami(Env.c1.port, ALICE_UPN, ALICE_PASSWORD)
            self.assertEqual(rc, 0, err)
        # An idle bound session stays open while memory is dumped.
        idle = subprocess.Popen(['ldapsearch', '-x', '-H', 'ldap://127.0.0.1:%d' % Env.c1.port, '-D', ALICE_UPN,
                                 '-w', ALICE_PASSWORD, '-b', SUFFIX, '-E', 'pr=1/prompt', '(cn=*)', 'cn'],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=tool_env())
        try:
            time.sleep(1.0)
            needles = [ALICE_PASSWORD.encode(), ALICE_PASSWORD.encode('utf-16-le')]
            for path in [Env.c1.log, Env.c1.access_log] + glob.glob(Env.c1.dir + '/**', recursive=True):
                if os.path.isfile(path) and not path.endswith('.sock'):
                    data = open(path, 'rb').read()
                    for n in needles + [SVC_PASSWORD.encode()]:
                        self.assertNotIn(n, data, path)
            if shutil.which('gcore'):
                core = os.path.join(Env.root, 'c1-core')
                rc, out, err = run(['gcore', '-o', core, str(Env.c1.proc.pid)], timeout=120)
                files = glob.glob(core + '*')
                self.assertTrue(files, out + err)
                try:
                    data = open(files[0], 'rb').read()
                    for n in needles:
                        self.assertNotIn(n, data, 'the user password is in the connector memory')
                finally:
                    for f in files:
                        os.unlink(f)
        finally:
            idle.kill()
            idle.wait(timeout=10)


class FailoverTest(unittest.TestCase):
    """Runs last: it stops and restarts the upstreams."""

    @classmethod
    def setUpClass(cls):
        Env.up()

    def test_failover_status_recovery_and_all_down(self):
        c1 = Env.c1
        self.assertEqual(whoami(c1.port, ALICE_UPN, ALICE_PASSWORD)[0], 0)
        results = []  # (time since kill, rc)
        killed_at = None
        for i in range(400):  # bounded; ends 3.5 s after the kill
            if killed_at and time.monotonic() - killed_at > 3.5:
                break
            if i == 5:
                Env.simplead.proc.kill()
                Env.simplead.proc.wait(timeout=10)
                killed_at = time.monotonic()
            rc, out, err = whoami(c1.port, ALICE_UPN, ALICE_PASSWORD, timeout=10)
            results.append((time.monotonic() - killed_at if killed_at else -1, rc))
            time.sleep(0.05)
        after = [(t, rc) for t, rc in results if t >= 0]
        self.assertTrue(all(rc == 0 for t, rc in results if t < 0))
        # Binds keep succeeding through slapd within 3 s of the kill...
        late = [rc for t, rc in after if t > 3.0]
        self.assertTrue(late, results)
        self.assertTrue(all(rc == 0 for rc in late), results)
        # ...in fact none failed at all (connection refused fails over at once).
        self.assertTrue(all(rc == 0 for t, rc in after), results)
        self.assertIn('upstream=' + Env.slapd.url(), open(c1.access_log).read().splitlines()[-1])

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and c1.upstream_state(1) != 'down':
            time.sleep(0.1)
        self.assertEqual(c1.upstream_state(1), 'down', c1.status()[1])
        self.assertIn('last_error="', c1.status()[1])

        Env.simplead.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and c1.upstream_state(1) != 'up':
            time.sleep(0.2)
        self.assertEqual(c1.upstream_state(1), 'up', c1.status()[1])
        self.assertEqual(whoami(c1.port, ALICE_UPN, ALICE_PASSWORD)[0], 0)

        # Both down: every bind fails with 52, none succeeds.
        stop(Env.simplead.proc, signal.SIGKILL)
        stop(Env.slapd.proc, signal.SIGKILL)
        codes = [whoami(c1.port, ALICE_UPN, ALICE_PASSWORD, timeout=15)[0] for _ in range(6)]
        self.assertEqual(codes, [52] * 6)
        # The DN form (no lookup) too.
        self.assertEqual(whoami(c1.port, ALICE_DN, ALICE_PASSWORD, timeout=15)[0], 52)


class RadiusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        Env.up()
        if Env.radius is None:
            if not shutil.which('freeradius'):
                raise unittest.SkipTest('freeradius is not installed (deploy/install-deps.sh installs it)')
            Env.radius = FreeRadius(Env.root)
            Env.radius.start()
            Env.c3 = Connector(Env.root, 'c3', [Env.simplead.url(), Env.slapd.url()],
                               {'radius-server': '"127.0.0.1:%d"' % Env.radius.port,
                                'radius-secret-file': '"%s"' % Env.radius.secret_file,
                                'radius-timeout': '2', 'radius-retries': '1', 'radius-separator': '","'})
            Env.c3.start()

    def test_password_alone_fails(self):
        self.assertEqual(whoami(Env.c3.port, ALICE_UPN, ALICE_PASSWORD)[0], 49)

    def test_password_and_right_code_succeeds(self):
        rc, out, err = whoami(Env.c3.port, ALICE_UPN, ALICE_PASSWORD + ',' + OTP)
        self.assertEqual(rc, 0, err)

    def test_wrong_code_fails(self):
        self.assertEqual(whoami(Env.c3.port, ALICE_UPN, ALICE_PASSWORD + ',000000')[0], 49)

    def test_wrong_password_with_right_code_fails(self):
        self.assertEqual(whoami(Env.c3.port, ALICE_UPN, 'Wrong-Pa55word-123!,' + OTP)[0], 49)


def load_tests(loader, tests, pattern):
    # Sign-in and RADIUS first, failover (which stops the upstreams) last.
    suite = unittest.TestSuite()
    for cls in (SignInTest, RadiusTest, FailoverTest):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return suite


if __name__ == '__main__':
    if '--build-dir' in sys.argv:
        i = sys.argv.index('--build-dir')
        BUILD_DIR = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    program = None
    try:
        program = unittest.main(verbosity=2, exit=False)
    finally:
        Env.down()
    sys.exit(0 if program is not None and program.result.wasSuccessful() else 1)
