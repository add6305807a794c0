"""Bind, anonymous access, the AD skeleton, the rootDSE and plain LDAP mode."""

import statistics
import struct
import time

import ldap

import harness
from harness import ADMIN_DN, ADMIN_UPN, SUFFIX, USERS, ServerTestCase, parse_ldif, user_ldif


def sid_rid(sid_bytes):
    """The last sub-authority (RID) of a binary SID."""
    assert isinstance(sid_bytes, bytes) and len(sid_bytes) >= 12, sid_bytes
    return struct.unpack('<I', sid_bytes[-4:])[0]


class BindTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        rc, out, err = s.ldapadd(user_ldif('bob', password='Zq9-Secret-Pw!') +
                                 user_ldif('dora', password='Dq8-Tz3-Pw!', extra=['userAccountControl: 514']))
        assert rc == 0, (rc, out, err)

    def test_acceptance_search_by_upn_returns_administrator_in_domain_admins(self):
        s = self.server
        r = harness.run(['ldapsearch', '-x', '-H', s.url, '-D', 'administrator@corp.example.com', '-w',
                         s.admin_password, '-b', 'DC=corp,DC=example,DC=com', '(sAMAccountName=administrator)',
                         'memberOf', 'objectSid'])
        self.assertOk(r)
        entries = parse_ldif(r[1])
        self.assertEqual(len(entries), 1, r[1])
        dn, attrs = entries[0]
        self.assertEqual(dn.lower(), ADMIN_DN.lower())
        self.assertIn('cn=domain admins,cn=users,dc=corp,dc=example,dc=com', [v.lower() for v in attrs['memberof']])
        self.assertEqual(sid_rid(attrs['objectsid'][0]), 500)

    def test_bind_by_dn_succeeds(self):
        rc, out, err = self.assertOk(self.server.ldapwhoami())
        self.assertEqual(out.strip().lower(), ('dn:' + ADMIN_DN).lower())

    def test_bind_by_upn_succeeds(self):
        rc, out, err = self.assertOk(self.server.ldapwhoami(bind=(ADMIN_UPN, self.server.admin_password)))
        self.assertEqual(out.strip().lower(), ('dn:' + ADMIN_DN).lower())

    def test_bind_by_down_level_name_succeeds(self):
        rc, out, err = self.assertOk(self.server.ldapwhoami(bind=('CORP\\administrator', self.server.admin_password)))
        self.assertEqual(out.strip().lower(), ('dn:' + ADMIN_DN).lower())

    def test_user_binds_by_dn_upn_and_down_level_name(self):
        for who in ('CN=bob,' + USERS, 'bob@corp.example.com', 'CORP\\bob', 'corp\\BOB'):
            rc, out, err = self.assertOk(self.server.ldapwhoami(bind=(who, 'Zq9-Secret-Pw!')), who)
            self.assertEqual(out.strip().lower(), ('dn:CN=bob,' + USERS).lower(), who)

    def test_wrong_password_gives_52e(self):
        rc, out, err = self.assertRc(self.server.ldapwhoami(bind=(ADMIN_DN, 'wrong')), 49)
        self.assertIn('data 52e', err)

    def test_unknown_user_gives_52e(self):
        for who in ('CN=nobody,' + USERS, 'nobody@corp.example.com', 'CORP\\nobody'):
            rc, out, err = self.assertRc(self.server.ldapwhoami(bind=(who, 'whatever')), 49, who)
            self.assertIn('data 52e', err, who)

    def test_disabled_account_with_right_password_gives_533(self):
        rc, out, err = self.assertRc(self.server.ldapwhoami(bind=('CN=dora,' + USERS, 'Dq8-Tz3-Pw!')), 49)
        self.assertIn('data 533', err)

    def test_disabled_account_with_wrong_password_gives_52e(self):
        rc, out, err = self.assertRc(self.server.ldapwhoami(bind=('CN=dora,' + USERS, 'nope')), 49)
        self.assertIn('data 52e', err)

    def test_reenabled_account_binds(self):
        s = self.server
        self.add(user_ldif('erin', password='Eq7-Tz4-Pw!', extra=['userAccountControl: 514']))
        self.assertRc(s.ldapwhoami(bind=('CN=erin,' + USERS, 'Eq7-Tz4-Pw!')), 49)
        self.assertOk(s.ldapmodify('dn: CN=erin,%s\nchangetype: modify\nreplace: userAccountControl\n'
                                   'userAccountControl: 512\n-\n' % USERS))
        self.assertOk(s.ldapwhoami(bind=('CN=erin,' + USERS, 'Eq7-Tz4-Pw!')))

    def test_dn_with_empty_password_is_refused_with_53(self):
        self.assertRc(self.server.ldapwhoami(bind=(ADMIN_DN, '')), 53)
        conn = ldap.initialize(self.server.url)
        with self.assertRaises(ldap.UNWILLING_TO_PERFORM):
            conn.simple_bind_s(ADMIN_DN, '')

    def test_anonymous_reads_root_dse(self):
        rc, out, err = self.assertOk(self.server.ldapsearch('-s', 'base', '(objectClass=*)', '*', '+', base='',
                                                            bind=None))
        attrs = parse_ldif(out)[0][1]
        self.assertIn(SUFFIX.lower(), [v.lower() for v in attrs['namingcontexts']])
        self.assertEqual(attrs['defaultnamingcontext'][0].lower(), SUFFIX.lower())
        self.assertIn('3', attrs['supportedldapversion'])

    def test_anonymous_reads_subschema(self):
        rc, out, err = self.assertOk(self.server.ldapsearch('-s', 'base', '(objectClass=*)', 'attributeTypes',
                                                            'objectClasses', base='cn=Subschema', bind=None))
        attrs = parse_ldif(out)[0][1]
        self.assertTrue(any("'sAMAccountName'" in v for v in attrs['attributetypes']))
        self.assertTrue(any("NAME 'user'" in v for v in attrs['objectclasses']))

    def test_anonymous_search_under_suffix_gives_32(self):
        self.assertRc(self.server.ldapsearch('(objectClass=*)', bind=None), 32)

    def test_anonymous_add_is_refused(self):
        rc, out, err = self.server.ldapadd(user_ldif('anon-made'), bind=None)
        self.assertNotEqual(rc, 0)
        self.assertIsNone(self.server.get('CN=anon-made,' + USERS))

    def test_plain_user_cannot_add_entries(self):
        rc, out, err = self.server.ldapadd(user_ldif('bob-made'), bind=('CN=bob,' + USERS, 'Zq9-Secret-Pw!'))
        self.assertEqual(rc, 50, err)

    def test_rebind_on_same_connection_changes_identity(self):
        conn = self.server.connect()
        self.assertEqual(conn.whoami_s().lower(), ('dn:' + ADMIN_DN).lower())
        conn.simple_bind_s('bob@corp.example.com', 'Zq9-Secret-Pw!')
        self.assertEqual(conn.whoami_s().lower(), ('dn:CN=bob,' + USERS).lower())
        with self.assertRaises(ldap.INVALID_CREDENTIALS):
            conn.simple_bind_s('bob@corp.example.com', 'bad')
        conn.unbind_s()


class BindTimingTest(ServerTestCase):
    """Real (default) Argon2 cost so that a missing hash would show."""
    server_kwargs = {'fast_hash': False}

    def test_failed_bind_takes_about_the_same_time_whether_user_exists_or_not(self):
        s = self.server

        def once(who):
            t = time.monotonic()
            rc, out, err = s.ldapwhoami(bind=(who, 'wrong-password'))
            self.assertEqual(rc, 49, err)
            return time.monotonic() - t

        # Interleaved, so that both names see the same machine load (CI has 2 busy cores).
        existing_samples, missing_samples = [], []
        for _ in range(7):
            existing_samples.append(once(ADMIN_DN))
            missing_samples.append(once('CN=ghost,' + USERS))
        existing = statistics.median(existing_samples)
        missing = statistics.median(missing_samples)
        slack = 0.05
        self.assertLess(missing, existing * 2 + slack, (existing, missing))
        self.assertLess(existing, missing * 2 + slack, (existing, missing))


class SkeletonTest(ServerTestCase):

    def test_domain_containers_exist(self):
        for rdn in ('CN=Users', 'CN=Computers', 'OU=Domain Controllers', 'CN=System', 'CN=ForeignSecurityPrincipals'):
            self.assertIsNotNone(self.server.get(rdn + ',' + SUFFIX, '1.1'), rdn)

    def test_administrator_has_rid_500_and_names(self):
        a = self.server.get(ADMIN_DN, '*', '+')
        self.assertEqual(a['samaccountname'], ['Administrator'])
        self.assertEqual(a['userprincipalname'][0].lower(), ADMIN_UPN)
        self.assertEqual(sid_rid(a['objectsid'][0]), 500)
        self.assertEqual(len(a['objectguid'][0]), 16)

    def test_guest_is_rid_501_and_disabled(self):
        g = self.server.get('CN=Guest,' + USERS)
        self.assertEqual(sid_rid(g['objectsid'][0]), 501)
        self.assertEqual(g['useraccountcontrol'], ['66082'])

    def test_well_known_groups_have_their_rids(self):
        for name, rid in (('Domain Admins', 512), ('Domain Users', 513), ('Domain Guests', 514),
                          ('Domain Computers', 515), ('Domain Controllers', 516)):
            g = self.server.get('CN=%s,%s' % (name, USERS))
            self.assertIsNotNone(g, name)
            self.assertEqual(sid_rid(g['objectsid'][0]), rid, name)

    def test_domain_admins_has_administrator_as_member(self):
        g = self.server.get('CN=Domain Admins,' + USERS, 'member')
        self.assertIn(ADMIN_DN.lower(), [v.lower() for v in g['member']])

    def test_domain_sids_share_the_domain_prefix(self):
        a = self.server.get(ADMIN_DN, 'objectSid')['objectsid'][0]
        g = self.server.get('CN=Domain Users,' + USERS, 'objectSid')['objectsid'][0]
        self.assertEqual(a[:-4], g[:-4])
        self.assertEqual(a[0], 1)  # SID revision

    def test_root_dse_lists_implemented_controls_and_extensions(self):
        rc, out, err = self.assertOk(self.server.ldapsearch('-s', 'base', '(objectClass=*)', '*', '+', base='',
                                                            bind=None))
        attrs = parse_ldif(out)[0][1]
        controls = set(attrs.get('supportedcontrol', []))
        for oid in ('1.2.840.113556.1.4.319',  # paged results
                    '1.2.840.113556.1.4.473',  # server-side sort
                    '1.3.6.1.1.12',  # assertion
                    '1.3.6.1.1.13.1', '1.3.6.1.1.13.2',  # pre/post-read
                    '2.16.840.1.113730.3.4.2',  # ManageDsaIT
                    '1.2.840.113556.1.4.805',  # subtree delete
                    '1.2.840.113556.1.4.1413'):  # permissive modify
            self.assertIn(oid, controls)
        extensions = set(attrs.get('supportedextension', []))
        self.assertIn('1.3.6.1.4.1.4203.1.11.1', extensions)  # password modify
        self.assertIn('1.3.6.1.4.1.4203.1.11.3', extensions)  # whoami
        for key in ('subschemasubentry', 'vendorname', 'vendorversion'):
            self.assertIn(key, attrs)

    def test_restart_keeps_the_domain_and_does_not_reprovision(self):
        s = self.server
        before = s.get(ADMIN_DN, 'objectGUID')['objectguid']
        self.assertEqual(s.stop(), 0)
        s.start()
        self.assertEqual(s.get(ADMIN_DN, 'objectGUID')['objectguid'], before)


class StrongAuthTest(ServerTestCase):
    """--loopback-is-remote makes the cleartext-bind rule apply to us."""
    server_kwargs = {'ldaps': True, 'extra_args': ['--loopback-is-remote', 'true', '--require-strong-auth', 'true']}

    def test_cleartext_password_bind_is_refused(self):
        rc, out, err = self.server.ldapwhoami()
        self.assertIn(rc, (8, 13), err)

    def test_ldaps_bind_succeeds(self):
        s = self.server
        self.assertOk(s.tool('ldapwhoami', url=s.ldaps_url))

    def test_starttls_bind_succeeds(self):
        s = self.server
        self.assertOk(s.tool('ldapwhoami', ['-ZZ']))


class PlainModeTest(ServerTestCase):
    server_kwargs = {'mode': 'plain', 'suffix': 'dc=example,dc=com'}

    def test_admin_binds_and_tree_has_no_ad_skeleton(self):
        s = self.server
        rc, out, err = self.assertOk(s.ldapwhoami())
        self.assertEqual(out.strip().lower(), 'dn:cn=admin,dc=example,dc=com')
        self.assertIsNotNone(s.get('dc=example,dc=com', '1.1'))
        self.assertIsNone(s.get('CN=Users,dc=example,dc=com', '1.1'))

    def test_posix_users_and_group_of_names_work(self):
        s = self.server
        self.add('dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n\n'
                 'dn: uid=pat,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n'
                 'uid: pat\ncn: Pat\nsn: Smith\nuidNumber: 10001\ngidNumber: 10001\nhomeDirectory: /home/pat\n'
                 'userPassword: Pq6-Tz5-Pw!\n\n'
                 'dn: cn=staff,ou=people,dc=example,dc=com\nobjectClass: groupOfNames\ncn: staff\n'
                 'member: uid=pat,ou=people,dc=example,dc=com\n\n')
        rc, out, err = self.assertOk(s.ldapwhoami(bind=('uid=pat,ou=people,dc=example,dc=com', 'Pq6-Tz5-Pw!')))
        self.assertEqual(out.strip().lower(), 'dn:uid=pat,ou=people,dc=example,dc=com')
        self.assertEqual(s.search_dns('(&(objectClass=posixAccount)(uidNumber>=10000))'),
                         ['uid=pat,ou=people,dc=example,dc=com'])
        self.assertEqual(s.search_dns('(member=uid=pat,ou=people,dc=example,dc=com)'),
                         ['cn=staff,ou=people,dc=example,dc=com'])
        self.assertRc(s.ldapwhoami(bind=('uid=pat,ou=people,dc=example,dc=com', 'bad')), 49)


if __name__ == '__main__':
    harness.main()
