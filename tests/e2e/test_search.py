"""Search: scopes, every filter type, matching rules, AD bitwise and
IN_CHAIN rules, attribute selection, operational attributes, limits."""

import re
import time

import harness
from harness import ADMIN_DN, SUFFIX, USERS, ServerTestCase, group_ldif, ou_ldif, parse_ldif, user_ldif

BASE = 'OU=Search,' + SUFFIX
ENG = 'OU=Eng,' + BASE


def dn(cn, parent=BASE):
    return 'CN=%s,%s' % (cn, parent)


def low(values):
    return sorted(v.lower() for v in values)


def escape_bytes(b):
    return ''.join('\\%02x' % c for c in b)


class SearchTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        ldif = (ou_ldif('Search') + ou_ldif('Eng', BASE) +
                user_ldif('alice-s', BASE, extra=['uidNumber: 1000', 'telephoneNumber: +1 555-0100',
                                                  'description: Alpha Tester', 'homeDirectory: /home/Alice',
                                                  'isCriticalSystemObject: TRUE', 'mail: alice@corp.example.com',
                                                  'givenName: Alice', 'sn: Smith']) +
                user_ldif('bob-s', BASE, extra=['uidNumber: 2000', 'description: Beta', 'sn: Jones']) +
                user_ldif('dave-s', BASE, extra=['uidNumber: 300', 'sn: Smyth']) +
                user_ldif('carol-s', ENG, password=None, extra=['uidNumber: 3000']) +
                group_ldif('g-inner', [dn('alice-s')], BASE) +
                group_ldif('g-outer', [dn('g-inner')], BASE) +
                group_ldif('g1', [], BASE) +
                group_ldif('g2', [dn('g1')], BASE))
        rc, out, err = s.ldapadd(ldif)
        assert rc == 0, (rc, out, err)
        rc, out, err = s.ldapmodify('dn: %s\nchangetype: modify\nadd: member\nmember: %s\n-\n' % (dn('g1'), dn('g2')))
        assert rc == 0, (rc, out, err)

    def find(self, filt, base=BASE, scope='sub'):
        return low(self.server.search_dns(filt, base=base, scope=scope))

    # -- scopes ------------------------------------------------------------
    def test_scope_base_returns_only_the_base(self):
        self.assertEqual(self.find('(objectClass=*)', scope='base'), low([BASE]))

    def test_scope_one_returns_direct_children(self):
        self.assertEqual(self.find('(objectClass=*)', scope='one'),
                         low([ENG, dn('alice-s'), dn('bob-s'), dn('dave-s'), dn('g-inner'), dn('g-outer'), dn('g1'),
                              dn('g2')]))

    def test_scope_sub_includes_base_and_grandchildren(self):
        found = self.find('(objectClass=*)', scope='sub')
        self.assertIn(BASE.lower(), found)
        self.assertIn(dn('carol-s', ENG).lower(), found)
        self.assertEqual(len(found), 10)

    def test_scope_children_excludes_base(self):
        found = self.find('(objectClass=*)', scope='children')
        self.assertNotIn(BASE.lower(), found)
        self.assertIn(dn('carol-s', ENG).lower(), found)
        self.assertEqual(len(found), 9)

    def test_missing_base_gives_32_with_matched_dn(self):
        rc, out, err = self.assertRc(self.server.ldapsearch('(objectClass=*)', base='CN=x,OU=nope,' + BASE), 32)
        self.assertIn(('matched DN: ' + BASE).lower(), err.lower())

    # -- filter types ------------------------------------------------------
    def test_equality_is_case_insensitive_for_case_ignore_attributes(self):
        self.assertEqual(self.find('(sAMAccountName=ALICE-S)'), low([dn('alice-s')]))

    def test_substring_initial_any_final(self):
        self.assertEqual(self.find('(cn=ali*)'), low([dn('alice-s')]))
        self.assertEqual(self.find('(cn=*lic*)'), low([dn('alice-s')]))
        self.assertEqual(self.find('(cn=*ce-s)'), low([dn('alice-s')]))
        self.assertEqual(self.find('(description=al*t*ter)'), low([dn('alice-s')]))
        self.assertEqual(self.find('(description=al*x*ter)'), [])

    def test_greater_or_equal_uses_integer_ordering(self):
        self.assertEqual(self.find('(uidNumber>=1000)'), low([dn('alice-s'), dn('bob-s'), dn('carol-s', ENG)]))

    def test_less_or_equal_uses_integer_ordering(self):
        self.assertEqual(self.find('(uidNumber<=1000)'), low([dn('alice-s'), dn('dave-s')]))

    def test_presence(self):
        self.assertEqual(self.find('(telephoneNumber=*)'), low([dn('alice-s')]))

    def test_and_or_not(self):
        self.assertEqual(self.find('(&(objectClass=user)(|(sn=Smith)(sn=Jones)))'), low([dn('alice-s'), dn('bob-s')]))
        self.assertEqual(self.find('(&(objectClass=user)(!(uidNumber>=1000)))'), low([dn('dave-s')]))
        self.assertEqual(self.find('(|(cn=nobody)(cn=nothing))'), [])

    def test_approximate_match_finds_exact_value(self):
        self.assertIn(dn('alice-s').lower(), self.find('(sn~=Smith)'))

    def test_extensible_match_with_rule(self):
        self.assertEqual(self.find('(cn:caseExactMatch:=alice-s)'), low([dn('alice-s')]))
        self.assertEqual(self.find('(cn:caseExactMatch:=ALICE-S)'), [])

    def test_extensible_match_with_dn_attributes(self):
        self.assertEqual(self.find('(&(objectClass=user)(ou:dn:=Eng))'), low([dn('carol-s', ENG)]))

    def test_undefined_attribute_in_filter_matches_nothing(self):
        rc, out, err = self.assertOk(self.server.ldapsearch('(noSuchAttributeXyz=1)', '1.1', base=BASE))
        self.assertEqual(parse_ldif(out), [])

    def test_bad_filter_syntax_is_refused_by_the_client(self):
        rc, out, err = self.server.ldapsearch('(cn=alice', base=BASE)
        self.assertNotEqual(rc, 0)

    # -- matching rules ----------------------------------------------------
    def test_case_exact_ia5_attribute_is_case_sensitive(self):
        self.assertEqual(self.find('(homeDirectory=/home/Alice)'), low([dn('alice-s')]))
        self.assertEqual(self.find('(homeDirectory=/home/alice)'), [])

    def test_telephone_number_ignores_spaces_and_hyphens(self):
        self.assertEqual(self.find('(telephoneNumber=+15550100)'), low([dn('alice-s')]))

    def test_ia5_mail_is_case_insensitive(self):
        self.assertEqual(self.find('(mail=ALICE@CORP.EXAMPLE.COM)'), low([dn('alice-s')]))

    def test_boolean_match(self):
        self.assertEqual(self.find('(isCriticalSystemObject=TRUE)'), low([dn('alice-s')]))
        self.assertEqual(self.find('(isCriticalSystemObject=FALSE)'), [])

    def test_dn_match_normalizes_case_and_spaces(self):
        self.assertEqual(self.find('(member=cn=ALICE-S, ou=search,dc=CORP,dc=example,dc=com)'), low([dn('g-inner')]))

    def test_generalized_time_ordering(self):
        self.assertEqual(len(self.find('(whenCreated>=20000101000000.0Z)')), 10)
        self.assertEqual(self.find('(createTimestamp<=19990101000000Z)'), [])
        self.assertEqual(len(self.find('(createTimestamp>=20000101000000Z)')), 10)

    def test_octet_string_match_on_object_guid(self):
        guid = self.server.get(dn('alice-s'), 'objectGUID')['objectguid'][0]
        self.assertIsInstance(guid, bytes)
        self.assertEqual(self.find('(objectGUID=%s)' % escape_bytes(guid)), low([dn('alice-s')]))

    def test_object_sid_match(self):
        sid = self.server.get(dn('bob-s'), 'objectSid')['objectsid'][0]
        self.assertEqual(self.find('(objectSid=%s)' % escape_bytes(sid)), low([dn('bob-s')]))

    def test_bitwise_and_rule(self):
        found = self.find('(userAccountControl:1.2.840.113556.1.4.803:=2)', base=SUFFIX)
        self.assertIn(dn('carol-s', ENG).lower(), found)
        self.assertIn(('CN=Guest,' + USERS).lower(), found)
        self.assertNotIn(dn('alice-s').lower(), found)
        self.assertNotIn(ADMIN_DN.lower(), found)

    def test_bitwise_or_rule(self):
        found = self.find('(userAccountControl:1.2.840.113556.1.4.804:=3)')
        self.assertEqual(found, low([dn('carol-s', ENG)]))
        found = self.find('(&(objectClass=user)(userAccountControl:1.2.840.113556.1.4.804:=514))')
        self.assertEqual(len(found), 4)  # 512 and 514 share bit 512

    # -- memberOf, nesting, IN_CHAIN ---------------------------------------
    def test_member_of_is_maintained_and_returned_with_star(self):
        attrs = self.server.get(dn('alice-s'), '*')
        self.assertEqual(low(attrs['memberof']), low([dn('g-inner')]))

    def test_in_chain_finds_transitive_member(self):
        found = self.find('(memberOf:1.2.840.113556.1.4.1941:=%s)' % dn('g-outer'))
        self.assertIn(dn('alice-s').lower(), found)
        self.assertIn(dn('g-inner').lower(), found)

    def test_in_chain_on_member_finds_nested_groups_of_user(self):
        found = self.find('(member:1.2.840.113556.1.4.1941:=%s)' % dn('alice-s'))
        self.assertEqual(found, low([dn('g-inner'), dn('g-outer')]))

    def test_plain_member_of_does_not_follow_nesting(self):
        self.assertEqual(self.find('(memberOf=%s)' % dn('g-outer')), low([dn('g-inner')]))

    def test_group_cycle_answers_promptly(self):
        t = time.monotonic()
        found = self.find('(memberOf:1.2.840.113556.1.4.1941:=%s)' % dn('g1'))
        self.assertLess(time.monotonic() - t, 5.0)
        self.assertIn(dn('g2').lower(), found)
        t = time.monotonic()
        self.find('(member:1.2.840.113556.1.4.1941:=%s)' % dn('g1'))
        self.assertLess(time.monotonic() - t, 5.0)

    # -- attribute selection -----------------------------------------------
    def test_star_returns_user_attributes_without_operational(self):
        attrs = self.server.get(dn('alice-s'), '*')
        self.assertIn('cn', attrs)
        self.assertIn('objectsid', attrs)
        self.assertNotIn('entryuuid', attrs)
        self.assertNotIn('createtimestamp', attrs)

    def test_plus_returns_operational_attributes(self):
        attrs = self.server.get(dn('alice-s'), '+')
        for a in ('entryuuid', 'createtimestamp', 'modifytimestamp', 'creatorsname', 'modifiersname', 'entrydn',
                  'hassubordinates', 'structuralobjectclass', 'subschemasubentry', 'entrycsn'):
            self.assertIn(a, attrs)
        self.assertNotIn('cn', attrs)
        self.assertEqual(attrs['creatorsname'][0].lower(), ADMIN_DN.lower())
        self.assertEqual(attrs['entrydn'][0].lower(), dn('alice-s').lower())
        self.assertEqual(attrs['structuralobjectclass'], ['user'])
        self.assertEqual(attrs['hassubordinates'], ['FALSE'])
        self.assertRegex(attrs['entryuuid'][0], r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
        self.assertRegex(attrs['createtimestamp'][0], r'^\d{14}(\.\d+)?Z$')

    def test_has_subordinates_true_on_container(self):
        self.assertEqual(self.server.get(BASE, 'hasSubordinates')['hassubordinates'], ['TRUE'])

    def test_one_one_returns_dn_only(self):
        rc, out, err = self.assertOk(self.server.ldapsearch('-s', 'base', '(objectClass=*)', '1.1', base=dn('alice-s')))
        entries = parse_ldif(out)
        self.assertEqual(len(entries), 1)
        self.assertEqual(entries[0][1], {})

    def test_named_operational_attributes_and_when_created(self):
        attrs = self.server.get(dn('alice-s'), 'entryDN', 'whenCreated', 'whenChanged', 'cn')
        self.assertEqual(set(attrs), {'entrydn', 'whencreated', 'whenchanged', 'cn'})
        self.assertRegex(attrs['whencreated'][0], r'^\d{14}\.0Z$')

    def test_context_csn_on_suffix(self):
        attrs = self.server.get(SUFFIX, 'contextCSN')
        self.assertIn('contextcsn', attrs)
        self.assertTrue(attrs['contextcsn'][0])

    def test_entry_csn_grows_with_changes(self):
        s = self.server
        before = s.get(dn('bob-s'), 'entryCSN')['entrycsn'][0]
        self.assertOk(s.ldapmodify('dn: %s\nchangetype: modify\nreplace: description\ndescription: changed\n-\n'
                                   % dn('bob-s')))
        after = s.get(dn('bob-s'), 'entryCSN')['entrycsn'][0]
        self.assertGreater(after, before)
        context = s.get(SUFFIX, 'contextCSN')['contextcsn']
        self.assertGreaterEqual(max(context), after)

    def test_types_only(self):
        rc, out, err = self.assertOk(self.server.ldapsearch('-A', '-s', 'base', '(objectClass=*)', 'cn', 'sn',
                                                            base=dn('alice-s')))
        attrs = parse_ldif(out)[0][1]
        self.assertEqual(set(attrs), {'cn', 'sn'})
        self.assertEqual(attrs['cn'], [''])

    def test_user_password_is_never_returned(self):
        s = self.server
        for selection in (['*'], ['+'], ['userPassword'], ['*', '+', 'userPassword', 'unicodePwd']):
            rc, out, err = self.assertOk(s.ldapsearch('(objectClass=user)', *selection, base=BASE))
            self.assertNotIn('userpassword', out.lower())
            self.assertNotIn('unicodepwd', out.lower())

    def test_user_password_presence_filter_does_not_reveal_hashes(self):
        rc, out, err = self.server.ldapsearch('(userPassword=*)', 'userPassword', base=BASE)
        self.assertNotIn('userpassword:', out.lower())

    # -- limits and sorting ------------------------------------------------
    def test_client_size_limit_gives_4(self):
        rc, out, err = self.assertRc(self.server.ldapsearch('-z', '2', '(objectClass=*)', '1.1', base=BASE), 4)
        self.assertEqual(len(parse_ldif(out)), 2)

    def test_server_side_sort_ascending_and_descending(self):
        s = self.server
        rc, out, err = self.assertOk(s.ldapsearch('-E', 'sss=cn', '(objectClass=user)', 'cn', base=BASE))
        names = [a['cn'][0] for _, a in parse_ldif(out)]
        self.assertEqual(names, sorted(names, key=str.lower))
        self.assertEqual(len(names), 4)
        rc, out, err = self.assertOk(s.ldapsearch('-E', 'sss=-uidNumber', '(objectClass=user)', 'uidNumber',
                                                  base=BASE))
        numbers = [int(a['uidnumber'][0]) for _, a in parse_ldif(out)]
        self.assertEqual(numbers, [3000, 2000, 1000, 300])

    def test_paged_search_small_pages_returns_everything(self):
        rc, out, err = self.assertOk(self.server.ldapsearch('-E', 'pr=3/noprompt', '(objectClass=*)', '1.1',
                                                            base=BASE))
        self.assertEqual(len(parse_ldif(out)), 10)

    def test_python_ldap_paged_search(self):
        import ldap
        from ldap.controls import SimplePagedResultsControl
        conn = self.server.connect()
        ctrl = SimplePagedResultsControl(True, size=2, cookie='')
        seen = []
        for _ in range(20):
            msgid = conn.search_ext(BASE, ldap.SCOPE_SUBTREE, '(objectClass=*)', ['1.1'], serverctrls=[ctrl])
            _, data, _, ctrls = conn.result3(msgid)
            seen += [d for d, _ in data if d]
            page = [c for c in ctrls if c.controlType == SimplePagedResultsControl.controlType]
            if not page or not page[0].cookie:
                break
            ctrl.cookie = page[0].cookie
        self.assertEqual(len(seen), 10)
        self.assertEqual(len(set(x.lower() for x in seen)), 10)
        conn.unbind_s()

    def test_typical_sssd_user_lookup(self):
        rc, out, err = self.assertOk(self.server.ldapsearch(
            '(&(objectClass=user)(sAMAccountName=alice-s)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))',
            'sAMAccountName', 'objectSid', 'memberOf', 'userPrincipalName', base=SUFFIX))
        entries = parse_ldif(out)
        self.assertEqual(len(entries), 1)
        self.assertTrue(re.match('(?i)alice-s@', entries[0][1]['userprincipalname'][0]))


if __name__ == '__main__':
    harness.main()
