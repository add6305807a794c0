"""Safe by default (issue 4): TLS, no secrets in clear, password policy and
lockout, resource limits and the failed-bind rate limit, each acceptance point
against a real simplead driven by ldap-utils, openssl s_client, python-ldap and
raw sockets. (Access control has its own tests.)"""

import json
import os
import re
import select
import signal
import socket
import tempfile
import threading
import time

import ldap

import harness
from harness import ADMIN_DN, SUFFIX, USERS, ServerTestCase, SimpleAD, group_ldif, user_ldif

NOTICE_OF_DISCONNECTION = b'1.3.6.1.4.1.1466.20036'
OTHER_LOOPBACK = '127.0.0.2'  # a second source address; the server still listens on 127.0.0.1 only


# -- BER, just enough for raw clients ------------------------------------------

def ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + ber_len(len(body)) + body


def ber_int(n):
    return n.to_bytes(max(1, (n.bit_length() + 8) // 8), 'big')


def bind_pdu(msgid, dn, password):
    op = tlv(0x60, tlv(0x02, b'\x03') + tlv(0x04, dn.encode()) + tlv(0x80, password.encode()))
    return tlv(0x30, tlv(0x02, ber_int(msgid)) + op)


def read_tlv(data, pos):
    """(tag, value, next_pos) of the BER TLV at pos; raises ValueError on truncation."""
    if pos + 2 > len(data):
        raise ValueError('truncated')
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7f
        if pos + n > len(data):
            raise ValueError('truncated')
        length = int.from_bytes(data[pos:pos + n], 'big')
        pos += n
    if pos + length > len(data):
        raise ValueError('truncated')
    return tag, data[pos:pos + length], pos + length


def parse_response(pdu):
    """(message_id, op_tag, result_code, diagnostic, response_name) of an LDAPResult-shaped PDU."""
    _tag, body, _ = read_tlv(pdu, 0)
    _t, msgid, pos = read_tlv(body, 0)
    op_tag, op, _ = read_tlv(body, pos)
    _t, code, p = read_tlv(op, 0)
    _t, _matched, p = read_tlv(op, p)
    _t, diag, p = read_tlv(op, p)
    name = None
    while p < len(op):
        t, value, p = read_tlv(op, p)
        if t == 0x8a:
            name = value
    return (int.from_bytes(msgid, 'big'), op_tag, int.from_bytes(code, 'big'), diag.decode('utf-8', 'replace'),
            name)


def read_response(sock, timeout=10.0):
    """The next whole PDU from sock parsed with parse_response; None if the peer closed first."""
    sock.settimeout(timeout)
    data = b''
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(data) < (1 << 20):
        try:
            _t, _v, end = read_tlv(data, 0)
            return parse_response(data[:end])
        except ValueError:
            pass
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return None
        if not chunk:
            return None
        data += chunk
    return None


def raw_connect(port, source='127.0.0.1', timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect(('127.0.0.1', port))
    except OSError:
        s.close()
        raise
    return s


def raw_bind(port, dn, password, source='127.0.0.1'):
    """Result code of one simple bind on a fresh raw connection from `source`."""
    with raw_connect(port, source) as s:
        s.sendall(bind_pdu(1, dn, password))
        response = read_response(s)
    assert response is not None, 'no bind response'
    return response[2]


def can_use_other_loopback():
    try:
        with socket.socket() as s:
            s.bind((OTHER_LOOPBACK, 0))
        return True
    except OSError:
        return False


# -- a normal client in the background ---------------------------------------

class SearchLoop:
    """One bound python-ldap connection searching on a thread, in a loop
    bounded in count and time; records every failure."""

    def __init__(self, server, max_iterations=4000, max_seconds=120.0, pause=0.05, conn=None):
        self.conn = conn or server.connect()
        self.max_iterations = max_iterations
        self.max_seconds = max_seconds
        self.pause = pause
        self.ok = 0
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        for _ in range(self.max_iterations):
            if self._stop.is_set() or time.monotonic() > deadline:
                break
            try:
                res = self.conn.search_s(SUFFIX, ldap.SCOPE_BASE, '(objectClass=*)', ['1.1'])
                if len(res) == 1:
                    self.ok += 1
                else:
                    self.failures.append('search returned %r' % (res,))
            except ldap.LDAPError as e:
                self.failures.append(repr(e))
            self._stop.wait(self.pause)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=30)
        try:
            self.conn.unbind_s()
        except ldap.LDAPError:
            pass

    def wait_for_progress(self, since, timeout=10.0):
        """True once the loop has answered more searches than `since`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ok > since:
                return True
            time.sleep(0.05)
        return False


# -- openssl helpers ------------------------------------------------------------

def s_client(port, *args, timeout=20):
    return harness.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % port] + list(args), input='',
                       timeout=timeout)


def served_subject(port):
    """The CN of the certificate the server presents to a new TLS connection."""
    rc, out, err = s_client(port)
    m = re.search(r'subject=.*?CN\s*=\s*([^,\n/]+)', out)
    return m.group(1).strip() if m else None


def make_certificate(cert_path, key_path, cn, serial):
    """A self-signed server certificate made with the openssl CLI, written in place of cert/key."""
    tmp_cert, tmp_key = cert_path + '.new', key_path + '.new'
    rc, out, err = harness.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                                '-nodes', '-keyout', tmp_key, '-out', tmp_cert, '-days', '2', '-subj', '/CN=' + cn,
                                '-set_serial', str(serial), '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'])
    assert rc == 0, err
    os.replace(tmp_key, key_path)
    os.replace(tmp_cert, cert_path)


def tls_connect(url, bind='admin', server=None, starttls=False):
    conn = ldap.initialize(url)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
    conn.set_option(ldap.OPT_TIMEOUT, 10)
    conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_NEVER)
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    if starttls:
        conn.start_tls_s()
    if bind == 'admin':
        conn.simple_bind_s(server.admin_dn, server.admin_password)
    return conn


# -- 1. TLS ---------------------------------------------------------------------

class TlsTest(ServerTestCase):
    """The embedded default: a generated CA, LDAPS and StartTLS."""
    server_kwargs = {'ldaps': True}

    def ca_env(self):
        env = harness.tool_env()
        env['LDAPTLS_CACERT'] = os.path.join(self.server.data_dir, 'tls', 'ca.pem')
        env['LDAPTLS_REQCERT'] = 'demand'  # the generated CA must really verify the server
        return env

    def whoami(self, url, *extra):
        s = self.server
        return harness.run(['ldapwhoami', '-H', url, '-x', '-D', s.admin_dn, '-w', s.admin_password] + list(extra),
                           env=self.ca_env())

    def test_ldapwhoami_starttls_verifies_with_the_generated_ca(self):
        rc, out, err = self.assertOk(self.whoami(self.server.url, '-ZZ'))
        self.assertEqual(out.strip().lower(), ('dn:' + ADMIN_DN).lower())

    def test_ldapwhoami_ldaps_verifies_with_the_generated_ca(self):
        rc, out, err = self.assertOk(self.whoami(self.server.ldaps_url))
        self.assertEqual(out.strip().lower(), ('dn:' + ADMIN_DN).lower())

    def test_a_wrong_ca_fails_verification(self):
        # The check above means something only if verification can fail.
        env = self.ca_env()
        env['LDAPTLS_CACERT'] = '/etc/ssl/certs/ca-certificates.crt'
        s = self.server
        rc, out, err = harness.run(['ldapwhoami', '-H', s.ldaps_url, '-x', '-D', s.admin_dn, '-w',
                                    s.admin_password], env=env)
        self.assertNotEqual(rc, 0, out)

    def test_s_client_negotiates_tls_1_3_by_default(self):
        rc, out, err = s_client(self.server.ldaps_port)
        self.assertRegex(out, r'New, TLSv1\.3, Cipher is')

    def test_s_client_negotiates_tls_1_2_when_asked(self):
        rc, out, err = s_client(self.server.ldaps_port, '-tls1_2')
        self.assertRegex(out, r'New, TLSv1\.2, Cipher is ECDHE-')

    def test_s_client_starttls_shows_tls_1_2_or_later(self):
        rc, out, err = s_client(self.server.port, '-starttls', 'ldap')
        self.assertRegex(out, r'New, TLSv1\.[23], Cipher is')

    def test_tls_1_1_client_is_refused_by_the_server(self):
        # SECLEVEL=0 lets this OpenSSL offer TLS 1.1 at all, so the refusal
        # below is the server's protocol_version alert, not a client-side one.
        rc, out, err = s_client(self.server.ldaps_port, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0')
        self.assertNotEqual(rc, 0, out)
        self.assertIn('alert protocol version', err + out)
        self.assertNotIn('no protocols available', err + out)
        self.assertNotRegex(out, r'New, TLSv1')
        self.assertOk(self.whoami(self.server.ldaps_url), 'server still serving TLS')


class CertificateReloadTest(ServerTestCase):
    """--tls-cert/--tls-key files replaced on disk, then SIGHUP."""

    @classmethod
    def setUpClass(cls):
        base = tempfile.mkdtemp(prefix='simplead-e2e-')
        cls.cert = os.path.join(base, 'server.pem')
        cls.key = os.path.join(base, 'server.key')
        make_certificate(cls.cert, cls.key, 'simplead-reload-one', 4097)
        cls.server_kwargs = {'base_dir': base, 'ldaps': True, 'extra_args': ['--tls-cert', cls.cert, '--tls-key', cls.key]}
        super().setUpClass()

    def test_sighup_serves_the_new_certificate_and_open_connections_keep_working(self):
        s = self.server
        self.assertEqual(served_subject(s.ldaps_port), 'simplead-reload-one')
        old_ldaps = tls_connect(s.ldaps_url, server=s)
        old_starttls = tls_connect(s.url, server=s, starttls=True)
        for conn in (old_ldaps, old_starttls):
            self.assertEqual(len(conn.search_s(SUFFIX, ldap.SCOPE_BASE, '(objectClass=*)', ['1.1'])), 1)

        make_certificate(self.cert, self.key, 'simplead-reload-two', 8193)
        s.proc.send_signal(signal.SIGHUP)
        subject = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            subject = served_subject(s.ldaps_port)
            if subject == 'simplead-reload-two':
                break
            time.sleep(0.2)
        self.assertEqual(subject, 'simplead-reload-two', s.log_tail())
        rc, out, err = s_client(s.ldaps_port)
        self.assertIn('Server certificate', out)
        rc, x509, err = harness.run(['openssl', 'x509', '-noout', '-serial'], input=out)
        self.assertEqual(x509.strip(), 'serial=2001')  # 8193

        # Connections opened before the swap carry on, on their old session.
        for conn in (old_ldaps, old_starttls):
            self.assertEqual(len(conn.search_s(SUFFIX, ldap.SCOPE_BASE, '(objectClass=*)', ['1.1'])), 1)
            self.assertEqual(conn.whoami_s().lower(), ('dn:' + ADMIN_DN).lower())
            conn.unbind_s()
        # And StartTLS on the plain port also gets the new certificate.
        rc, out, err = s_client(s.port, '-starttls', 'ldap')
        self.assertRegex(out, r'subject=.*CN\s*=\s*simplead-reload-two')


# -- 2. no secrets in clear -----------------------------------------------------

class LoopbackIsRemoteTest(ServerTestCase):
    server_kwargs = {'extra_args': ['--loopback-is-remote', 'true']}

    def test_cleartext_password_bind_gets_stronger_auth_required(self):
        rc, out, err = self.assertRc(self.server.ldapwhoami(), 8)
        self.assertIn('requires TLS', err)
        conn = ldap.initialize(self.server.url)
        with self.assertRaises(ldap.STRONG_AUTH_REQUIRED):
            conn.simple_bind_s(ADMIN_DN, self.server.admin_password)

    def test_the_same_bind_over_starttls_succeeds(self):
        rc, out, err = self.assertOk(self.server.ldapwhoami('-ZZ'))
        self.assertEqual(out.strip().lower(), ('dn:' + ADMIN_DN).lower())


# -- 4. password policy and lockout -------------------------------------------

LOCKOUT_SECONDS = 3


def pso_ldif(name, precedence, min_length, group_dn):
    return '\n'.join([
        'dn: CN=%s,CN=System,%s' % (name, SUFFIX),
        'objectClass: top', 'objectClass: msDS-PasswordSettings', 'cn: %s' % name,
        'msDS-PasswordSettingsPrecedence: %d' % precedence,
        'msDS-MinimumPasswordLength: %d' % min_length,
        'msDS-PasswordHistoryLength: 0',
        'msDS-PasswordComplexityEnabled: FALSE',
        'msDS-PasswordReversibleEncryptionEnabled: FALSE',
        'msDS-MaximumPasswordAge: -36288000000000',
        'msDS-MinimumPasswordAge: 0',
        'msDS-LockoutThreshold: 0',
        'msDS-LockoutObservationWindow: -18000000000',
        'msDS-LockoutDuration: -18000000000',
        'msDS-PSOAppliesTo: %s' % group_dn]) + '\n\n'


class PasswordPolicyTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Lockout after 5 failures for LOCKOUT_SECONDS (AD intervals are
        # negative counts of 100 ns); no minimum age so users may change the
        # password they were just given.
        ticks = -LOCKOUT_SECONDS * 10_000_000
        rc, out, err = cls.server.ldapmodify(
            'dn: %s\nchangetype: modify\nreplace: lockoutThreshold\nlockoutThreshold: 5\n-\n'
            'replace: lockoutDuration\nlockoutDuration: %d\n-\n'
            'replace: lockOutObservationWindow\nlockOutObservationWindow: %d\n-\n'
            'replace: minPwdAge\nminPwdAge: 0\n-\n' % (SUFFIX, ticks, ticks))
        assert rc == 0, (rc, out, err)

    def dn(self, cn):
        return 'CN=%s,%s' % (cn, USERS)

    def test_five_wrong_passwords_lock_the_account_until_the_duration_passes(self):
        s = self.server
        self.add(user_ldif('lock-me', password='Lk7-Right-Pw!'))
        for i in range(5):
            rc, out, err = self.assertRc(s.ldapwhoami(bind=(self.dn('lock-me'), 'Wrong-Guess-%d!' % i)), 49)
            self.assertIn('data 52e', err)
        locked_at = time.monotonic()
        rc, out, err = self.assertRc(s.ldapwhoami(bind=(self.dn('lock-me'), 'Lk7-Right-Pw!')), 49)
        self.assertIn('data 775', err)
        attrs = s.get(self.dn('lock-me'), 'lockoutTime', 'badPwdCount')
        self.assertGreater(int(attrs['lockouttime'][0]), 0)
        self.assertGreaterEqual(int(attrs['badpwdcount'][0]), 5)

        time.sleep(max(0.0, locked_at + LOCKOUT_SECONDS + 1.2 - time.monotonic()))
        rc, out, err = self.assertOk(s.ldapwhoami(bind=(self.dn('lock-me'), 'Lk7-Right-Pw!')))
        self.assertEqual(out.strip().lower(), 'dn:' + self.dn('lock-me').lower())

    def test_fine_grained_policy_with_precedence_10_beats_50(self):
        s = self.server
        self.add(user_ldif('pso-user', password='Ps7-First-Pw!'))
        self.add(group_ldif('pso-g50', members=[self.dn('pso-user')]) +
                 group_ldif('pso-g10', members=[self.dn('pso-user')]))
        # Minimum length 20 at precedence 50, 12 at precedence 10 (domain: 8).
        self.add(pso_ldif('pso-50', 50, 20, self.dn('pso-g50')) + pso_ldif('pso-10', 10, 12, self.dn('pso-g10')))

        def set_password(password):
            return s.ldapmodify('dn: %s\nchangetype: modify\nreplace: userPassword\nuserPassword: %s\n-\n'
                                % (self.dn('pso-user'), password))

        # 10 characters: fine for the domain (8), too short for precedence 10.
        rc, out, err = self.assertRc(set_password('Ten-char1!'), 19)
        self.assertIn('at least 12 characters', err)
        self.assertIn('pso-10', err)
        # 14 characters: too short for precedence 50 (20), accepted: 10 wins.
        self.assertOk(set_password('Fourteen-Pw-1!'))
        self.assertOk(s.ldapwhoami(bind=(self.dn('pso-user'), 'Fourteen-Pw-1!')))

    def test_history_refuses_a_reused_password_with_19(self):
        s = self.server
        self.add(user_ldif('hist-user', password='Hs7-First-Pw!'))
        conn = s.connect(bind=(self.dn('hist-user'), 'Hs7-First-Pw!'))
        conn.passwd_s(self.dn('hist-user'), 'Hs7-First-Pw!', 'Hs8-Second-Pw!')
        with self.assertRaises(ldap.CONSTRAINT_VIOLATION) as cm:
            conn.passwd_s(self.dn('hist-user'), 'Hs8-Second-Pw!', 'Hs7-First-Pw!')
        self.assertIn('used before', str(cm.exception.args[0].get('info', '')))
        conn.unbind_s()
        self.assertOk(s.ldapwhoami(bind=(self.dn('hist-user'), 'Hs8-Second-Pw!')))

    def _ppolicy_error(self, call):
        """Runs call(serverctrls) expecting an LDAP error; returns (exception, ppolicy error name or None)."""
        import ldap.controls.ppolicy as ppolicy
        with self.assertRaises(ldap.LDAPError) as cm:
            call([ppolicy.PasswordPolicyControl()])
        info = cm.exception.args[0]
        for raw in info.get('ctrls', []):
            oid, _, value = raw
            if oid == ppolicy.PasswordPolicyControl.controlType:
                control = ppolicy.PasswordPolicyControl()
                control.decodeControlValue(value)
                return cm.exception, control.error
        return cm.exception, None

    def test_clients_asking_for_the_password_policy_control_get_its_error(self):
        s = self.server
        self.add(user_ldif('pp-user', password='Pp7-First-Pw!'))
        dn = self.dn('pp-user')
        conn = s.connect(bind=(dn, 'Pp7-First-Pw!'))
        # Too short, then reused: passwordTooShort (6), passwordInHistory (8).
        exc, error = self._ppolicy_error(lambda ctrls: conn.modify_ext_s(
            dn, [(ldap.MOD_DELETE, 'userPassword', [b'Pp7-First-Pw!']), (ldap.MOD_ADD, 'userPassword', [b'Sh0rt!'])],
            serverctrls=ctrls))
        self.assertIsInstance(exc, ldap.CONSTRAINT_VIOLATION)
        self.assertEqual(error, 6)
        conn.passwd_s(dn, 'Pp7-First-Pw!', 'Pp8-Second-Pw!')
        exc, error = self._ppolicy_error(lambda ctrls: conn.passwd_s(dn, 'Pp8-Second-Pw!', 'Pp7-First-Pw!',
                                                                     serverctrls=ctrls))
        self.assertEqual(error, 8)
        conn.unbind_s()
        # Locked: accountLocked (1) on the bind, also through ldapwhoami -e ppolicy.
        for i in range(5):
            self.assertRc(s.ldapwhoami(bind=(dn, 'Wrong-Guess-%d!' % i)), 49)
        anonymous = s.connect(bind=None)
        exc, error = self._ppolicy_error(lambda ctrls: anonymous.simple_bind_s(dn, 'Pp8-Second-Pw!', serverctrls=ctrls))
        self.assertIsInstance(exc, ldap.INVALID_CREDENTIALS)
        self.assertEqual(error, 1)
        rc, out, err = s.ldapwhoami('-e', 'ppolicy', bind=(dn, 'Pp8-Second-Pw!'))
        self.assertEqual(rc, 49)
        self.assertIn('Account locked', out + err)
        # Without the request control no response control is sent.
        with self.assertRaises(ldap.INVALID_CREDENTIALS) as cm:
            anonymous.simple_bind_s(dn, 'Pp8-Second-Pw!')
        self.assertEqual(cm.exception.args[0].get('ctrls', []), [])


# -- 5. resource limits --------------------------------------------------------

PER_ADDRESS = 10
PDU_TIMEOUT = 2


class ResourceLimitsTest(ServerTestCase):
    """Each limit costs only the offending connection: a normal client keeps
    searching on its own connection throughout."""
    server_kwargs = {'extra_args': ['--max-connections-per-address', str(PER_ADDRESS),
                                    '--pdu-timeout', str(PDU_TIMEOUT), '--idle-timeout', '20']}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.loop = SearchLoop(cls.server).start()

    @classmethod
    def tearDownClass(cls):
        cls.loop.stop()
        super().tearDownClass()

    def setUp(self):
        self.loop_before = self.loop.ok

    def tearDown(self):
        # The normal client answered during this test and never failed.
        self.assertTrue(self.loop.wait_for_progress(self.loop_before), 'normal client stopped answering')
        self.assertEqual(self.loop.failures, [])

    def raw(self):
        return raw_connect(self.server.port)

    def wait_until_whoami_works(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            r = self.server.ldapwhoami()
            if r[0] == 0 or time.monotonic() > deadline:
                return r
            time.sleep(0.1)

    def test_connections_past_the_per_address_limit_get_busy_and_are_closed(self):
        socks = []
        try:
            for _ in range(PER_ADDRESS + 5):
                socks.append(self.raw())
            # Refused ones get a notice of disconnection busy (51) then EOF;
            # accepted ones stay silent and open.
            received = {s: b'' for s in socks}
            closed = set()
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                readable, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.1)
                for s in readable:
                    try:
                        chunk = s.recv(4096)
                    except ConnectionResetError:
                        chunk = b''
                    if chunk:
                        received[s] += chunk
                    else:
                        closed.add(s)
            open_socks = [s for s in socks if s not in closed]
            # The normal client's connection holds one of the slots.
            self.assertLessEqual(len(open_socks), PER_ADDRESS - 1)
            self.assertGreaterEqual(len(closed), 6)
            for s in closed:
                msgid, op_tag, code, diag, name = parse_response(received[s])
                self.assertEqual((msgid, op_tag, code, name), (0, 0x78, 51, NOTICE_OF_DISCONNECTION), diag)
            # The connections already open still work...
            self.assertEqual(self.loop.wait_for_progress(self.loop.ok), True)
            bind = bind_pdu(1, ADMIN_DN, self.server.admin_password)
            open_socks[0].sendall(bind)
            self.assertEqual(read_response(open_socks[0])[2], 0)
            # ... and so does another address.
            if can_use_other_loopback():
                self.assertEqual(raw_bind(self.server.port, ADMIN_DN, self.server.admin_password,
                                          source=OTHER_LOOPBACK), 0)
        finally:
            for s in socks:
                s.close()
        self.assertOk(self.wait_until_whoami_works(), 'new connections work once the others left')

    def test_20_mb_pdu_before_bind_gets_admin_limit_exceeded_and_closed(self):
        size = 20 * 1024 * 1024
        with self.raw() as s:
            # A SEQUENCE announcing 20 MB, then its first bytes (message ID 1, bindRequest...).
            s.sendall(b'\x30\x84' + size.to_bytes(4, 'big') + b'\x02\x01\x01\x60\x84')
            response = read_response(s)
            self.assertIsNotNone(response, 'no notice of disconnection')
            msgid, op_tag, code, diag, name = response
            self.assertEqual((msgid, op_tag, code, name), (0, 0x78, 11, NOTICE_OF_DISCONNECTION), diag)
            self.assertIn('before bind', diag)
            # The rest of the 20 MB goes nowhere: the server has closed.
            sent, chunk, error = 0, b'\0' * 65536, None
            deadline = time.monotonic() + 20
            while sent < size and time.monotonic() < deadline:
                try:
                    sent += s.send(chunk)
                except OSError as e:
                    error = e
                    break
            self.assertIsInstance(error, (BrokenPipeError, ConnectionResetError))
            self.assertLess(sent, size)
        self.assertOk(self.server.ldapwhoami())

    def test_filter_nested_10000_deep_gets_admin_limit_exceeded(self):
        depth = 10000
        deep = '(&' * depth + '(objectClass=*)' + ')' * depth
        conn = self.server.connect()
        with self.assertRaises(ldap.ADMINLIMIT_EXCEEDED) as cm:
            conn.search_s(SUFFIX, ldap.SCOPE_BASE, deep, ['1.1'])
        self.assertIn('filter', str(cm.exception.args[0].get('info', '')).lower())
        # The same connection carries on.
        self.assertEqual(len(conn.search_s(SUFFIX, ldap.SCOPE_BASE, '(objectClass=*)', ['1.1'])), 1)
        conn.unbind_s()

    def test_pdu_trickled_one_byte_a_second_is_cut_off(self):
        pdu = bind_pdu(1, ADMIN_DN, self.server.admin_password)
        with self.raw() as s:
            s.settimeout(1.0)
            started = time.monotonic()
            sent = 0
            data, closed = b'', False
            while sent < len(pdu) and time.monotonic() - started < PDU_TIMEOUT + 10:
                try:
                    s.send(pdu[sent:sent + 1])
                    sent += 1
                except OSError:
                    closed = True
                    break
                try:
                    chunk = s.recv(4096)  # waits up to one second: the trickle's pace
                    if not chunk:
                        closed = True
                        break
                    data += chunk
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    closed = True
                    break
            elapsed = time.monotonic() - started
        self.assertTrue(closed, 'trickled PDU was never cut off')
        self.assertLess(sent, len(pdu))
        self.assertLess(elapsed, PDU_TIMEOUT + 5)
        msgid, op_tag, code, diag, name = parse_response(data)
        self.assertEqual((msgid, code, name), (0, 2, NOTICE_OF_DISCONNECTION), diag)
        self.assertIn('PDU timeout', diag)


# -- 5. failed-bind rate limit -------------------------------------------------

FAILED_BIND_LIMIT = 5
FAILED_BIND_WINDOW = 3


class FailedBindRateLimitTest(ServerTestCase):
    server_kwargs = {'extra_args': ['--failed-bind-limit', str(FAILED_BIND_LIMIT),
                                    '--failed-bind-window', str(FAILED_BIND_WINDOW)]}

    def test_failures_from_one_address_get_busy_even_with_the_right_password(self):
        s = self.server
        user = 'CN=rate-user,' + USERS
        self.add(user_ldif('rate-user', password='Rt7-Right-Pw!'))
        bound = s.connect()
        for i in range(FAILED_BIND_LIMIT):
            rc, out, err = self.assertRc(s.ldapwhoami(bind=(user, 'Wrong-Guess-%d!' % i)), 49)
        blocked_at = time.monotonic()

        rc, out, err = self.assertRc(s.ldapwhoami(bind=(user, 'Rt7-Right-Pw!')), 51)
        self.assertIn('too many failed binds from 127.0.0.1', err)
        self.assertIn('limit %d within %d s' % (FAILED_BIND_LIMIT, FAILED_BIND_WINDOW), err)
        self.assertRegex(err, r'retry in [1-%d] s' % FAILED_BIND_WINDOW)
        # The administrator's right password too: nothing is checked.
        with self.assertRaises(ldap.BUSY):
            s.connect()
        # An already-bound connection carries on; anonymous binds are not throttled.
        self.assertEqual(len(bound.search_s(SUFFIX, ldap.SCOPE_BASE, '(objectClass=*)', ['1.1'])), 1)
        self.assertEqual(bound.whoami_s().lower(), ('dn:' + ADMIN_DN).lower())
        self.assertOk(s.ldapwhoami(bind=None))
        # Another address is unaffected.
        if can_use_other_loopback():
            self.assertEqual(raw_bind(s.port, user, 'Rt7-Right-Pw!', source=OTHER_LOOPBACK), 0)
        # Each refusal is in the audit trail and the access log.
        with open(os.path.join(s.data_dir, 'audit.log')) as f:
            events = [json.loads(line) for line in f if line.strip()]
        busy = [e for e in events if e.get('eventName') == 'Bind' and e.get('errorCode') == 'busy']
        self.assertGreaterEqual(len(busy), 2)
        self.assertEqual(busy[0]['sourceIPAddress'], '127.0.0.1')
        self.assertIn('throttled=failed-bind-limit', s.log_text())

        time.sleep(max(0.0, blocked_at + FAILED_BIND_WINDOW + 0.5 - time.monotonic()))
        rc, out, err = self.assertOk(s.ldapwhoami(bind=(user, 'Rt7-Right-Pw!')))
        self.assertEqual(out.strip().lower(), 'dn:' + user.lower())
        bound.unbind_s()


if __name__ == '__main__':
    harness.main()
