"""Protocol robustness: malformed PDUs, limits, many connections, several
outstanding operations, abandon, timeouts."""

import socket
import threading
import time

import ldap

import harness
from harness import SUFFIX, ServerTestCase

NOTICE_OF_DISCONNECTION = b'1.3.6.1.4.1.1466.20036'


def read_tlv(data, pos):
    """(tag, value, next_pos) of the BER TLV at pos; raises on truncation."""
    tag = data[pos]
    pos += 1
    length = data[pos]
    pos += 1
    if length & 0x80:
        n = length & 0x7f
        length = int.from_bytes(data[pos:pos + n], 'big')
        pos += n
    if pos + length > len(data):
        raise ValueError('truncated')
    return tag, data[pos:pos + length], pos + length


def recv_all(sock, timeout=10.0, limit=1 << 20):
    """Everything the server sends until it closes (bounded)."""
    sock.settimeout(timeout)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and sum(map(len, chunks)) < limit:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            return b''.join(chunks), True
        chunks.append(chunk)
    return b''.join(chunks), False


def read_messages(sock, enough, timeout=60):
    """(message id, op tag, op body) of each LDAPMessage the server sends, in
    order, until enough(messages so far), the connection closes or `timeout`."""
    messages, data = [], b''
    deadline = time.monotonic() + timeout
    while not enough(messages) and time.monotonic() < deadline:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        data += chunk
        pos = 0
        while pos < len(data):
            try:
                _tag, body, end = read_tlv(data, pos)
            except (ValueError, IndexError):  # the rest of this message is still on its way
                break
            _t, msgid, p2 = read_tlv(body, 0)
            tag, op, _e = read_tlv(body, p2)
            messages.append((int.from_bytes(msgid, 'big'), tag, op))
            pos = end
        data = data[pos:]
    return messages


def dones(messages):
    """How many of `messages` end a search (searchResDone)."""
    return sum(tag == 0x65 for _id, tag, _op in messages)


def parse_notice(data):
    """(message_id, result_code, response_name) of an ExtendedResponse PDU."""
    tag, body, _ = read_tlv(data, 0)
    assert tag == 0x30, hex(tag)
    tag, msgid, pos = read_tlv(body, 0)
    assert tag == 0x02
    tag, op, _ = read_tlv(body, pos)
    assert tag == 0x78, 'expected extendedResponse [APPLICATION 24], got %s' % hex(tag)
    tag, code, pos = read_tlv(op, 0)
    assert tag == 0x0a
    _, _matched, pos = read_tlv(op, pos)
    _, _diag, pos = read_tlv(op, pos)
    name = None
    while pos < len(op):
        tag, value, pos = read_tlv(op, pos)
        if tag == 0x8a:
            name = value
    return int.from_bytes(msgid, 'big'), int.from_bytes(code, 'big'), name


class ProtocolTest(ServerTestCase):
    server_kwargs = {'extra_args': ['--max-pdu-anonymous', '4096', '--max-filter-depth', '10',
                                    '--idle-timeout', '3', '--pdu-timeout', '2', '--max-outstanding', '8']}

    def raw(self):
        return socket.create_connection(('127.0.0.1', self.server.port), timeout=10)

    def assertServing(self):
        self.assertOk(self.server.ldapwhoami(), 'server still serving')

    def assertNoticeThenClose(self, payload):
        with self.raw() as s:
            s.sendall(payload)
            data, closed = recv_all(s)
        self.assertTrue(data, 'no notice of disconnection for %r' % payload[:20])
        msgid, code, name = parse_notice(data)
        self.assertEqual(msgid, 0)
        self.assertEqual(code, 2)
        self.assertEqual(name, NOTICE_OF_DISCONNECTION)
        self.assertTrue(closed, 'connection not closed after the notice')

    def test_garbage_bytes_get_notice_of_disconnection(self):
        self.assertNoticeThenClose(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        self.assertServing()

    def test_bad_inner_ber_gets_notice_of_disconnection(self):
        # SEQUENCE { INTEGER with a length running past the sequence }
        self.assertNoticeThenClose(b'\x30\x03\x02\x05\x01')
        self.assertServing()

    def test_message_id_missing_gets_notice_of_disconnection(self):
        # SEQUENCE { OCTET STRING } instead of { INTEGER, protocolOp }
        self.assertNoticeThenClose(b'\x30\x04\x04\x02ab')
        self.assertServing()

    def test_bind_with_invalid_version_is_refused(self):
        # bindRequest version 99 - a well-formed PDU the server must answer, not crash on.
        bind = b'\x60\x07\x02\x01\x63\x04\x00\x80\x00'
        pdu = b'\x30' + bytes([3 + len(bind)]) + b'\x02\x01\x01' + bind
        with self.raw() as s:
            s.sendall(pdu)
            data, _ = recv_all(s, timeout=3)
        self.assertTrue(data)
        self.assertServing()

    def test_random_fuzz_never_kills_the_server(self):
        import random
        rng = random.Random(1234)
        for _ in range(40):
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            if rng.random() < 0.5:
                payload = b'\x30' + bytes([len(payload) & 0x7f]) + payload
            with self.raw() as s:
                try:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    recv_all(s, timeout=3)
                except OSError:
                    pass
        self.assertServing()
        self.assertIsNone(self.server.proc.poll())

    def test_oversized_pdu_before_bind_disconnects(self):
        # A 10 kB anonymous search is over --max-pdu-anonymous 4096.
        big = '(|' + ''.join('(cn=%s)' % ('x' * 90) for _ in range(110)) + ')'
        conn = self.server.connect(bind=None)
        with self.assertRaises(ldap.LDAPError):
            conn.search_s('', ldap.SCOPE_BASE, big)
        # After a bind the same request is fine.
        conn = self.server.connect()
        conn.search_s(SUFFIX, ldap.SCOPE_BASE, big, ['1.1'])
        self.assertServing()

    def test_filter_deeper_than_limit_is_refused(self):
        deep = '(objectClass=*)'
        for _ in range(30):
            deep = '(&%s)' % deep
        rc, out, err = self.server.ldapsearch('-s', 'base', deep, '1.1')
        self.assertNotEqual(rc, 0)
        shallow = '(&(&(&(objectClass=*))))'
        self.assertOk(self.server.ldapsearch('-s', 'base', shallow, '1.1'))
        self.assertServing()

    def test_idle_connection_is_closed(self):
        with self.raw() as s:
            t = time.monotonic()
            data, closed = recv_all(s, timeout=12)
        self.assertTrue(closed, 'idle connection still open after 12 s')
        self.assertLess(time.monotonic() - t, 11)

    def test_partial_pdu_times_out(self):
        with self.raw() as s:
            s.sendall(b'\x30\x20\x02\x01')  # promises 32 bytes, sends 2
            t = time.monotonic()
            data, closed = recv_all(s, timeout=12)
        self.assertTrue(closed)
        self.assertLess(time.monotonic() - t, 11)
        self.assertServing()

    def test_many_connections_in_parallel(self):
        errors = []

        def worker(i):
            try:
                conn = self.server.connect()
                res = conn.search_s(SUFFIX, ldap.SCOPE_SUBTREE, '(sAMAccountName=Administrator)', ['cn'])
                if len(res) != 1:
                    errors.append((i, res))
                conn.unbind_s()
            except Exception as e:  # noqa: BLE001 - collected and reported
                errors.append((i, repr(e)))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(errors, [])

    def test_several_outstanding_operations_on_one_connection(self):
        conn = self.server.connect()
        ids = [conn.search_ext(SUFFIX, ldap.SCOPE_SUBTREE, '(cn=Domain %s)' % n, ['cn'])
               for n in ('Admins', 'Users', 'Guests', 'Computers', 'Controllers')]
        got = set()
        for msgid in ids:
            _, data, _, _ = conn.result3(msgid, timeout=20)
            self.assertEqual(len(data), 1)
            got.add(data[0][0].lower())
        self.assertEqual(len(got), 5)
        conn.unbind_s()

    def test_abandon_leaves_connection_usable(self):
        conn = self.server.connect()
        msgid = conn.search_ext(SUFFIX, ldap.SCOPE_SUBTREE, '(objectClass=*)')
        conn.abandon(msgid)
        self.assertTrue(conn.whoami_s())
        res = conn.search_s(SUFFIX, ldap.SCOPE_BASE, '(objectClass=*)', ['1.1'])
        self.assertEqual(len(res), 1)
        conn.unbind_s()

    def test_connect_and_drop_repeatedly(self):
        for _ in range(50):
            with self.raw():
                pass
        self.assertServing()



def ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + ber_len(len(body)) + body


def bind_pdu(msgid, dn, password):
    op = tlv(0x60, tlv(0x02, b'\x03') + tlv(0x04, dn.encode()) + tlv(0x80, password.encode()))
    return tlv(0x30, tlv(0x02, bytes([msgid])) + op)


class OutstandingLimitTest(ServerTestCase):
    # Real Argon2 cost, so that pipelined binds are in flight together.
    server_kwargs = {'extra_args': ['--max-outstanding', '2'], 'fast_hash': False}

    def test_requests_past_the_outstanding_limit_get_busy(self):
        with socket.create_connection(('127.0.0.1', self.server.port), timeout=10) as s:
            s.sendall(b''.join(bind_pdu(i, harness.ADMIN_DN, 'Wrong-Guess-%d!' % i) for i in range(1, 9)))
            messages = read_messages(s, lambda m: len({msgid for msgid, _t, _op in m}) >= 8, timeout=20)
        codes = {msgid: read_tlv(op, 0)[1][0] for msgid, _tag, op in messages}
        self.assertEqual(len(codes), 8, codes)
        self.assertIn(51, codes.values(), codes)        # busy past the limit
        self.assertIn(49, codes.values(), codes)        # the others were answered normally
        # The connection limit costs only that connection's excess: others still work.
        self.assertEqual(self.server.ldapwhoami()[0], 0)

def int_body(n):
    return n.to_bytes(n.bit_length() // 8 + 1, 'big')


def base_read_pdu(msgid, dn=''):
    """A base-scope search of `dn` (the root DSE by default), (objectClass=*), every attribute."""
    op = tlv(0x63, tlv(0x04, dn.encode()) + tlv(0x0a, b'\x00') + tlv(0x0a, b'\x00') + tlv(0x02, b'\x00') +
             tlv(0x02, b'\x00') + tlv(0x01, b'\x00') + tlv(0x87, b'objectClass') + tlv(0x30, b''))
    return tlv(0x30, tlv(0x02, int_body(msgid)) + op)


class PipelinedAnswersTest(ServerTestCase):
    """Answers queued together on the I/O thread leave in one write; what the
    socket does not take goes to the writer. Either way every answer arrives
    whole, once, entry before done."""
    server_kwargs = {'extra_args': ['--max-outstanding', '100000']}

    def read_answers(self, sock, count):
        """{msgid: [op tags in arrival order]} and result codes, until `count` dones."""
        answers, codes = {}, {}
        for msgid, tag, op in read_messages(sock, lambda m: dones(m) >= count):
            answers.setdefault(msgid, []).append(tag)
            if tag == 0x65:
                codes[msgid] = read_tlv(op, 0)[1][0]
        return answers, codes

    def lagging_reader(self):
        """A connection whose receive window is 4 KiB: the server's writes to it come up short."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect(('127.0.0.1', self.server.port))
        return s

    def check(self, answers, codes, count):
        self.assertEqual(sorted(answers), list(range(1, count + 1)))
        self.assertEqual({tags == [0x64, 0x65] for tags in answers.values()}, {True})
        self.assertEqual(set(codes.values()), {0})

    def test_many_pipelined_reads_each_get_their_answer(self):
        count = 500
        with socket.create_connection(('127.0.0.1', self.server.port), timeout=10) as s:
            s.sendall(b''.join(base_read_pdu(i) for i in range(1, count + 1)))
            answers, codes = self.read_answers(s, count)
        self.check(answers, codes, count)

    def test_a_reader_that_lags_still_gets_every_answer_whole(self):
        # A small receive window and a late first read: the server's socket
        # fills, its writes come up short and the rest waits for room.
        count = 3000
        with self.lagging_reader() as s:
            s.sendall(b''.join(base_read_pdu(i) for i in range(1, count + 1)))
            time.sleep(1.0)
            answers, codes = self.read_answers(s, count)
        self.check(answers, codes, count)
        self.assertServing()

    def test_an_answer_larger_than_the_socket_takes_leaves_whole(self):
        # One base read answered on the I/O thread with a 3 MiB entry: its
        # first write comes up short and the writer sends the rest.
        big = 'x' * (3 << 20)
        conn = self.server.connect()
        dn = 'CN=big-entry,CN=Users,' + SUFFIX
        conn.add_s(dn, [('objectClass', [b'top', b'person']), ('cn', [b'big-entry']), ('sn', [b'big']),
                        ('description', [big.encode()])])
        conn.unbind_s()
        with self.lagging_reader() as s:
            s.sendall(bind_pdu(1, harness.ADMIN_DN, harness.ADMIN_PASSWORD))
            self.assertEqual(read_tlv(s.recv(1 << 16), 0)[0], 0x30)
            s.sendall(b''.join(base_read_pdu(i, dn) for i in range(2, 5)))
            time.sleep(1.0)
            messages = read_messages(s, lambda m: dones(m) >= 3)
        done = dones(messages)
        sizes = [len(op) for _id, tag, op in messages if tag == 0x64]
        self.assertEqual(done, 3)
        self.assertEqual(len(sizes), 3)
        self.assertTrue(all(size > (3 << 20) for size in sizes), sizes)
        self.assertServing()

    def assertServing(self):
        self.assertOk(self.server.ldapwhoami(), 'server still serving')


if __name__ == '__main__':
    harness.main()
