"""Controls: assertion, pre/post-read, subtree delete, permissive modify,
ManageDsaIT, paging and sorting errors, unknown critical controls."""

import ldap
from ldap.controls import LDAPControl

import harness
from harness import SUFFIX, ServerTestCase, group_ldif, ou_ldif, parse_ldif, user_ldif

BASE = 'OU=Ctl,' + SUFFIX
SUBTREE_DELETE = '1.2.840.113556.1.4.805'
PERMISSIVE_MODIFY = '1.2.840.113556.1.4.1413'


def dn(cn, parent=BASE):
    return 'CN=%s,%s' % (cn, parent)


class ControlsTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        rc, out, err = cls.server.ldapadd(ou_ldif('Ctl') + user_ldif('c-user', BASE, extra=['description: keep']))
        assert rc == 0, (rc, out, err)

    def test_assertion_true_lets_modify_through(self):
        s = self.server
        self.add(user_ldif('c-a1', BASE, extra=['description: v1']))
        self.assertOk(s.ldapmodify('dn: %s\nchangetype: modify\nreplace: description\ndescription: v2\n-\n'
                                   % dn('c-a1'), '-e', 'assert=(description=v1)'))
        self.assertEqual(s.get(dn('c-a1'), 'description')['description'], ['v2'])

    def test_assertion_false_gives_122_and_changes_nothing(self):
        s = self.server
        self.add(user_ldif('c-a2', BASE, extra=['description: v1']))
        self.assertRc(s.ldapmodify('dn: %s\nchangetype: modify\nreplace: description\ndescription: v2\n-\n'
                                   % dn('c-a2'), '-e', 'assert=(description=other)'), 122)
        self.assertEqual(s.get(dn('c-a2'), 'description')['description'], ['v1'])

    def test_assertion_on_search_and_delete(self):
        s = self.server
        self.assertRc(s.ldapsearch('-e', 'assert=(description=nope)', '-s', 'base', '(objectClass=*)',
                                   base=dn('c-user')), 122)
        self.assertOk(s.ldapsearch('-e', 'assert=(description=keep)', '-s', 'base', '(objectClass=*)',
                                   base=dn('c-user')))
        self.add(user_ldif('c-a3', BASE))
        self.assertRc(s.ldapdelete('-e', 'assert=(cn=wrong)', dn('c-a3')), 122)
        self.assertIsNotNone(s.get(dn('c-a3')))

    def test_pre_read_returns_old_values(self):
        s = self.server
        self.add(user_ldif('c-pre', BASE, extra=['description: before']))
        rc, out, err = self.assertOk(s.ldapmodify('dn: %s\nchangetype: modify\nreplace: description\n'
                                                  'description: after\n-\n' % dn('c-pre'), '-e', 'preread=description'))
        self.assertIn('description: before', out)

    def test_post_read_returns_new_values_on_modify_and_add(self):
        s = self.server
        self.add(user_ldif('c-post', BASE, extra=['description: before']))
        rc, out, err = self.assertOk(s.ldapmodify('dn: %s\nchangetype: modify\nreplace: description\n'
                                                  'description: after\n-\n' % dn('c-post'),
                                                  '-e', 'postread=description'))
        self.assertIn('description: after', out)
        rc, out, err = self.assertOk(s.ldapadd(user_ldif('c-post2', BASE), '-e', 'postread=entryUUID'))
        self.assertRegex(out, r'entryUUID: [0-9a-f-]{36}')

    def test_python_ldap_pre_and_post_read(self):
        from ldap.controls.readentry import PostReadControl, PreReadControl
        conn = self.server.connect()
        self.add(user_ldif('c-rd', BASE, extra=['description: one']))
        _, _, _, ctrls = conn.modify_ext_s(dn('c-rd'), [(ldap.MOD_REPLACE, 'description', [b'two'])],
                                           serverctrls=[PreReadControl(True, ['description']),
                                                        PostReadControl(True, ['description'])])
        by_type = {c.controlType: c for c in ctrls}
        self.assertEqual(by_type[PreReadControl.controlType].entry['description'], [b'one'])
        self.assertEqual(by_type[PostReadControl.controlType].entry['description'], [b'two'])
        conn.unbind_s()

    def test_subtree_delete_control_removes_subtree_and_memberships(self):
        s = self.server
        tree = 'OU=Doomed,' + BASE
        self.add(ou_ldif('Doomed', BASE) + ou_ldif('Deeper', tree) + user_ldif('d1', tree) +
                 user_ldif('d2', 'OU=Deeper,' + tree) + group_ldif('g-keep', [dn('d1', tree), dn('c-user')], BASE))
        self.assertRc(s.ldapdelete(tree), 66)
        conn = s.connect()
        conn.delete_ext_s(tree, serverctrls=[LDAPControl(SUBTREE_DELETE, True)])
        self.assertIsNone(s.get(tree))
        self.assertEqual(s.search_dns('(sAMAccountName=d2)'), [])
        self.assertEqual([v.lower() for v in s.get(dn('g-keep'), 'member')['member']], [dn('c-user').lower()])
        conn.unbind_s()

    def test_permissive_modify_ignores_existing_and_missing_values(self):
        s = self.server
        self.add(user_ldif('c-perm', BASE, extra=['description: here']))
        conn = s.connect()
        with self.assertRaises(ldap.TYPE_OR_VALUE_EXISTS):
            conn.modify_s(dn('c-perm'), [(ldap.MOD_ADD, 'description', [b'here'])])
        with self.assertRaises(ldap.NO_SUCH_ATTRIBUTE):
            conn.modify_s(dn('c-perm'), [(ldap.MOD_DELETE, 'description', [b'absent'])])
        ctrl = [LDAPControl(PERMISSIVE_MODIFY, True)]
        conn.modify_ext_s(dn('c-perm'), [(ldap.MOD_ADD, 'description', [b'here', b'new'])], serverctrls=ctrl)
        conn.modify_ext_s(dn('c-perm'), [(ldap.MOD_DELETE, 'description', [b'absent'])], serverctrls=ctrl)
        self.assertEqual(sorted(s.get(dn('c-perm'), 'description')['description']), ['here', 'new'])
        conn.unbind_s()

    def test_unknown_critical_control_gives_12(self):
        s = self.server
        self.assertRc(s.ldapsearch('-E', '!1.2.3.4.5.6.7.8', '-s', 'base', '(objectClass=*)', base=BASE), 12)
        conn = s.connect()
        with self.assertRaises(ldap.UNAVAILABLE_CRITICAL_EXTENSION):
            conn.modify_ext_s(dn('c-user'), [(ldap.MOD_REPLACE, 'description', [b'x'])],
                              serverctrls=[LDAPControl('1.2.3.4.5.6.7.8', True)])
        self.assertEqual(s.get(dn('c-user'), 'description')['description'], ['keep'])
        conn.unbind_s()

    def test_unknown_non_critical_control_is_ignored(self):
        self.assertOk(self.server.ldapsearch('-E', '1.2.3.4.5.6.7.8', '-s', 'base', '(objectClass=*)', base=BASE))

    def test_manage_dsa_it_is_accepted(self):
        self.assertOk(self.server.ldapsearch('-MM', '-s', 'base', '(objectClass=*)', base=BASE))
        self.add(user_ldif('c-mdsa', BASE))
        self.assertOk(self.server.ldapdelete('-MM', dn('c-mdsa')))

    def test_paged_results_with_invalid_cookie_is_refused(self):
        from ldap.controls import SimplePagedResultsControl
        conn = self.server.connect()
        with self.assertRaises(ldap.LDAPError):
            conn.search_ext_s(SUFFIX, ldap.SCOPE_SUBTREE, '(objectClass=*)', ['1.1'],
                              serverctrls=[SimplePagedResultsControl(True, size=5, cookie=b'not-a-cookie')])
        self.assertTrue(conn.whoami_s())  # connection still usable
        conn.unbind_s()

    def test_sort_and_page_together(self):
        s = self.server
        for i in range(6):
            self.add(user_ldif('sp-%d' % (5 - i), 'OU=Ctl,' + SUFFIX, extra=['uidNumber: %d' % (5 - i)]))
        rc, out, err = self.assertOk(s.ldapsearch('-E', 'sss=uidNumber', '-E', 'pr=2/noprompt', '(cn=sp-*)',
                                                  'uidNumber', base=BASE))
        numbers = [int(a['uidnumber'][0]) for _, a in parse_ldif(out)]
        self.assertEqual(numbers, [0, 1, 2, 3, 4, 5])


if __name__ == '__main__':
    harness.main()
