"""10,000 users and 500 groups imported offline; paging, the server size
limit, indexed lookups and back-links at that size."""

import base64
import hashlib
import os
import time

import harness
from harness import SUFFIX, ServerTestCase, parse_ldif, run_admin

N_USERS = 10000
N_GROUPS = 500
BASE = 'OU=Scale,' + SUFFIX
PASSWORD = 'Scale-Pa55word!'


def user_dn(i):
    return 'CN=s%05d,%s' % (i, BASE)


def group_dn(g):
    return 'CN=sg%03d,%s' % (g, BASE)


def write_ldif(path):
    salt = b'e2esalt!'
    hashed = '{SSHA}' + base64.b64encode(hashlib.sha1(PASSWORD.encode() + salt).digest() + salt).decode()
    per_group = N_USERS // N_GROUPS
    with open(path, 'w') as f:
        f.write('version: 1\n\n')
        f.write('dn: %s\nobjectClass: top\nobjectClass: organizationalUnit\nou: Scale\n\n' % BASE)
        for i in range(N_USERS):
            f.write('dn: %s\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n'
                    'objectClass: user\ncn: s%05d\nsAMAccountName: s%05d\nuserPrincipalName: s%05d@%s\n'
                    'uidNumber: %d\nuserPassword: %s\n\n' % (user_dn(i), i, i, i, harness.DOMAIN, 100000 + i, hashed))
        for g in range(N_GROUPS):
            f.write('dn: %s\nobjectClass: top\nobjectClass: group\ncn: sg%03d\nsAMAccountName: sg%03d\n' % (
                group_dn(g), g, g))
            for i in range(g * per_group, (g + 1) * per_group):
                f.write('member: %s\n' % user_dn(i))
            f.write('\n')


class ScaleTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()  # provisions the domain
        s = cls.server
        assert s.stop() == 0
        path = os.path.join(s.base_dir, 'scale.ldif')
        write_ldif(path)
        t = time.monotonic()
        rc, out, err = run_admin('import', path, '--data-dir', s.data_dir, '--quiet', timeout=300)
        cls.import_seconds = time.monotonic() - t
        assert rc == 0, (rc, out, err)
        s.start()

    def test_paged_search_returns_all_10000_users(self):
        rc, out, err = self.assertOk(self.server.ldapsearch('-E', 'pr=500/noprompt', '(objectClass=user)', '1.1',
                                                            base=BASE, timeout=300))
        dns = [d.lower() for d, _ in parse_ldif(out)]
        self.assertEqual(len(dns), N_USERS)
        self.assertEqual(len(set(dns)), N_USERS)

    def test_unpaged_search_returns_1000_and_size_limit_exceeded(self):
        rc, out, err = self.assertRc(self.server.ldapsearch('(objectClass=user)', '1.1', base=BASE, timeout=300), 4)
        self.assertEqual(len(parse_ldif(out)), 1000)
        self.assertIn('Size limit exceeded', err)

    def test_unpaged_search_under_limit_is_complete(self):
        rc, out, err = self.assertOk(self.server.ldapsearch('(uidNumber<=100499)', '1.1', base=BASE))
        self.assertEqual(len(parse_ldif(out)), 500)

    def test_indexed_equality_lookup_is_fast(self):
        t = time.monotonic()
        for i in (0, 4321, 9999):
            self.assertEqual(self.server.search_dns('(sAMAccountName=s%05d)' % i, base=SUFFIX), [user_dn(i)])
        self.assertLess(time.monotonic() - t, 5.0)

    def test_back_links_after_import(self):
        s = self.server
        a = s.get(user_dn(1234), 'memberOf')
        self.assertEqual([v.lower() for v in a['memberof']], [group_dn(1234 // (N_USERS // N_GROUPS)).lower()])
        members = s.search_dns('(memberOf=%s)' % group_dn(499), base=BASE)
        self.assertEqual(len(members), N_USERS // N_GROUPS)

    def test_imported_ssha_user_binds(self):
        self.assertOk(self.server.ldapwhoami(bind=('s07777@corp.example.com', PASSWORD)))
        self.assertRc(self.server.ldapwhoami(bind=('s07777@corp.example.com', 'wrong')), 49)

    def test_imported_users_got_sids(self):
        a = self.server.get(user_dn(42), 'objectSid', 'objectGUID')
        self.assertEqual(len(a['objectguid'][0]), 16)
        self.assertTrue(a['objectsid'][0])

    def test_import_took_well_under_a_minute(self):
        self.assertLess(self.import_seconds, 60.0)


if __name__ == '__main__':
    harness.main()
