"""kill -9 during a stream of writes: after a restart every acknowledged
write is there with its indexes and back-links, and verify is clean."""

import os
import sys
import subprocess
import threading
import time

import ldap

import harness
from harness import SUFFIX, ServerTestCase, run_admin

BASE = 'OU=Crash,' + SUFFIX
STREAM = 5000
GROUP_EVERY = 25  # every 25th entry is a group of the previous 24 users


def stream_ldif(prefix):
    """(ldif_text, [(dn, kind, members)]) for STREAM entries."""
    parts, entries, pending = [], [], []
    for i in range(STREAM):
        if i % GROUP_EVERY == GROUP_EVERY - 1:
            dn = 'CN=%sg%04d,%s' % (prefix, i, BASE)
            text = 'dn: %s\nobjectClass: top\nobjectClass: group\ncn: %sg%04d\nsAMAccountName: %sg%04d\n' % (
                dn, prefix, i, prefix, i)
            text += ''.join('member: %s\n' % m for m in pending)
            entries.append((dn, 'group', list(pending)))
            pending = []
        else:
            dn = 'CN=%su%04d,%s' % (prefix, i, BASE)
            text = ('dn: %s\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n'
                    'objectClass: user\ncn: %su%04d\nsAMAccountName: %su%04d\n' % (dn, prefix, i, prefix, i))
            entries.append((dn, 'user', []))
            pending.append(dn)
        parts.append(text + '\n')
    return ''.join(parts), entries


class CrashTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        rc, out, err = cls.server.ldapadd('dn: %s\nobjectClass: top\nobjectClass: organizationalUnit\nou: Crash\n\n'
                                          % BASE)
        assert rc == 0, (rc, out, err)

    def check_present(self, acknowledged):
        """Every acknowledged entry is found through its sAMAccountName index,
        and each acknowledged group's members carry its back-link."""
        conn = self.server.connect()
        missing = []

        def search(filt):
            res = conn.search_s(BASE, ldap.SCOPE_SUBTREE, filt, ['1.1'])
            return [d for d, _ in res if d]

        for dn, kind, members in acknowledged:
            name = dn.split(',')[0][3:]
            found = search('(sAMAccountName=%s)' % name)
            if [x.lower() for x in found] != [dn.lower()]:
                missing.append(dn)
                continue
            if kind == 'group' and members:
                linked = sorted(x.lower() for x in search('(memberOf=%s)' % dn))
                if linked != sorted(m.lower() for m in members):
                    missing.append('back-links of ' + dn)
        conn.unbind_s()
        self.assertEqual(missing, [], 'acknowledged writes lost after kill -9')

    def kill_restart_verify(self):
        s = self.server
        s.stop()  # stop() is a no-op after kill9(); keeps the log closed
        rc, out, err = run_admin('verify', '--data-dir', s.data_dir)
        self.assertEqual(rc, 0, 'verify after kill -9:\n' + out + err)
        self.assertRegex(out, r'\d+ entries, 0 problems')
        s.start()

    def test_kill9_during_ldapadd_stream_keeps_acknowledged_entries(self):
        s = self.server
        ldif, entries = stream_ldif('a')
        path = os.path.join(s.base_dir, 'stream.ldif')
        with open(path, 'w') as f:
            f.write(ldif)
        argv = ['ldapadd', '-H', s.url, '-x', '-D', s.admin_dn, '-w', s.admin_password, '-f', path]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=harness.tool_env())
        time.sleep(1.5)
        s.kill9()
        out, err = proc.communicate(timeout=60)
        out = out.decode()
        # ldapadd sends one entry, waits for its result, prints "adding new
        # entry" before the next: all but the last announced one succeeded.
        announced = out.count('adding new entry')
        self.assertGreater(announced, 1, 'no write acknowledged before the kill: ' + err.decode())
        acknowledged = entries[:announced - 1] if proc.returncode != 0 else entries[:announced]
        sys.stderr.write('[%d of %d entries acknowledged before kill -9] ' % (len(acknowledged), STREAM))
        self.assertLess(len(acknowledged), STREAM, 'the stream finished before the kill; nothing was tested')
        self.kill_restart_verify()
        self.check_present(acknowledged)
        # The one in flight is all or nothing.
        if announced <= len(entries) and proc.returncode != 0:
            dn, kind, members = entries[announced - 1]
            got = s.get(dn, 'member', 'sAMAccountName')
            if got is not None and kind == 'group':
                self.assertEqual(len(got.get('member', [])), len(members))

    def test_kill9_during_python_ldap_writes_with_group_updates(self):
        s = self.server
        rc, out, err = s.ldapadd('dn: CN=crash-group,%s\nobjectClass: top\nobjectClass: group\ncn: crash-group\n\n'
                                 % BASE)
        self.assertEqual(rc, 0, err)
        group = 'CN=crash-group,' + BASE
        conn = s.connect()
        acknowledged, members = [], []
        killer = threading.Timer(1.5, s.kill9)
        killer.start()
        deadline = time.monotonic() + 60
        try:
            for i in range(STREAM):
                if time.monotonic() > deadline:
                    break
                dn = 'CN=bu%04d,%s' % (i, BASE)
                try:
                    conn.add_s(dn, [('objectClass', [b'top', b'person', b'organizationalPerson', b'user']),
                                    ('cn', [b'bu%04d' % i]), ('sAMAccountName', [b'bu%04d' % i])])
                except ldap.LDAPError:
                    break
                acknowledged.append((dn, 'user', []))
                try:
                    conn.modify_s(group, [(ldap.MOD_ADD, 'member', [dn.encode()])])
                except ldap.LDAPError:
                    break
                members.append(dn)
        finally:
            killer.join(timeout=20)
        self.assertGreater(len(acknowledged), 0)
        sys.stderr.write('[%d adds, %d member adds acknowledged before kill -9] ' % (len(acknowledged), len(members)))
        self.kill_restart_verify()
        self.check_present(acknowledged)
        linked = sorted(x.lower() for x in s.search_dns('(memberOf=%s)' % group, base=BASE))
        expected = sorted(m.lower() for m in members)
        # The last member add may have committed without its answer arriving.
        self.assertTrue(set(expected) <= set(linked), (len(linked), len(expected)))
        self.assertLessEqual(len(linked) - len(expected), 1)
        got = s.get(group, 'member')
        self.assertEqual(sorted(v.lower() for v in got.get('member', [])), linked)


if __name__ == '__main__':
    harness.main()
