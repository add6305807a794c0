"""Updates (add, delete, modify, modifyDN, compare), referential integrity,
memberOf maintenance and every schema error code."""

import time

import ldap

import harness
from harness import ADMIN_DN, SUFFIX, USERS, ServerTestCase, group_ldif, ou_ldif, parse_ldif, user_ldif

BASE = 'OU=Upd,' + SUFFIX


def dn(cn, parent=BASE):
    return 'CN=%s,%s' % (cn, parent)


mod = harness.modify_ldif


class UpdateTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        rc, out, err = cls.server.ldapadd(ou_ldif('Upd'))
        assert rc == 0, (rc, out, err)

    def test_add_user_gets_ad_attributes(self):
        s = self.server
        self.add(user_ldif('u-add', BASE))
        a = s.get(dn('u-add'), '*', '+')
        self.assertEqual(len(a['objectguid'][0]), 16)
        self.assertIsInstance(a['objectsid'][0], bytes)
        self.assertEqual(a['objectsid'][0][:2], b'\x01\x05')  # revision 1, five sub-authorities
        self.assertEqual(a['useraccountcontrol'], ['512'])
        for key in ('whencreated', 'whenchanged', 'entryuuid', 'createtimestamp'):
            self.assertIn(key, a)

    def test_add_user_without_password_is_disabled_514(self):
        self.add(user_ldif('u-nopw', BASE, password=None))
        self.assertEqual(self.server.get(dn('u-nopw'), 'userAccountControl')['useraccountcontrol'], ['514'])

    def test_new_users_get_distinct_sids_and_guids(self):
        s = self.server
        self.add(user_ldif('u-sid1', BASE) + user_ldif('u-sid2', BASE))
        a, b = s.get(dn('u-sid1'), 'objectSid', 'objectGUID'), s.get(dn('u-sid2'), 'objectSid', 'objectGUID')
        self.assertNotEqual(a['objectsid'], b['objectsid'])
        self.assertNotEqual(a['objectguid'], b['objectguid'])
        self.assertEqual(a['objectsid'][0][:-4], b['objectsid'][0][:-4])

    def test_added_user_can_bind(self):
        self.add(user_ldif('u-bind', BASE, password='Uv7-Jz3-Pw!'))
        self.assertOk(self.server.ldapwhoami(bind=('u-bind@corp.example.com', 'Uv7-Jz3-Pw!')))

    def test_add_existing_gives_68(self):
        self.add(user_ldif('u-dup', BASE))
        self.assertRc(self.server.ldapadd(user_ldif('u-dup', BASE)), 68)

    def test_add_under_missing_parent_gives_32_with_matched_dn(self):
        rc, out, err = self.assertRc(self.server.ldapadd(user_ldif('x', 'OU=Missing,OU=Deeper,' + BASE)), 32)
        self.assertIn('matched dn: ' + BASE.lower(), err.lower())
        conn = self.server.connect()
        with self.assertRaises(ldap.NO_SUCH_OBJECT) as cm:
            conn.add_s('CN=y,OU=Missing,' + BASE, [('objectClass', [b'top', b'container']), ('cn', [b'y'])])
        self.assertEqual(cm.exception.args[0].get('matched', '').lower(), BASE.lower())

    def test_duplicate_sam_account_name_is_refused(self):
        self.add(user_ldif('u-sam', BASE))
        ldif = user_ldif('u-sam2', BASE).replace('sAMAccountName: u-sam2', 'sAMAccountName: U-SAM')
        rc, out, err = self.server.ldapadd(ldif)
        self.assertEqual(rc, 68, err)

    def test_duplicate_user_principal_name_gives_19(self):
        self.add(user_ldif('u-upn', BASE))
        ldif = user_ldif('u-upn2', BASE).replace('u-upn2@', 'u-upn@')
        self.assertRc(self.server.ldapadd(ldif), 19)

    # -- schema error codes on add -----------------------------------------
    def test_missing_must_attribute_gives_65(self):
        ldif = user_ldif('u-posix', BASE, extra=['objectClass: posixAccount', 'uid: u-posix', 'gidNumber: 100',
                                                 'homeDirectory: /home/u-posix'])
        rc, out, err = self.assertRc(self.server.ldapadd(ldif), 65)
        self.assertIn('uidNumber'.lower(), err.lower())

    def test_attribute_not_allowed_by_classes_gives_65(self):
        self.assertRc(self.server.ldapadd(user_ldif('u-dc', BASE, extra=['dc: nope'])), 65)

    def test_unknown_attribute_gives_17(self):
        self.assertRc(self.server.ldapadd(user_ldif('u-unk', BASE, extra=['fooBarBazXyz: 1'])), 17)

    def test_unknown_object_class_is_refused(self):
        rc, out, err = self.server.ldapadd(user_ldif('u-uoc', BASE, extra=['objectClass: noSuchClassXyz']))
        self.assertIn(rc, (65, 21), err)

    def test_invalid_integer_syntax_gives_21(self):
        self.assertRc(self.server.ldapadd(user_ldif('u-syn', BASE, extra=['uidNumber: abc'])), 21)

    def test_invalid_boolean_syntax_gives_21(self):
        self.assertRc(self.server.ldapadd(user_ldif('u-bool', BASE, extra=['isCriticalSystemObject: yes'])), 21)

    def test_second_value_of_single_valued_attribute_gives_19(self):
        self.assertRc(self.server.ldapadd(user_ldif('u-sv', BASE, extra=['displayName: A', 'displayName: B'])), 19)

    def test_duplicate_value_gives_20(self):
        self.assertRc(self.server.ldapadd(user_ldif('u-dv', BASE, extra=['description: same', 'description: SAME'])),
                      20)

    def test_entry_under_a_user_gives_64(self):
        # AD's structure rule (possSuperiors): a user is not a container.
        self.add(user_ldif('u-leaf', BASE))
        self.assertRc(self.server.ldapadd(user_ldif('u-child', dn('u-leaf'))), 64)

    def test_rdn_value_missing_from_entry_is_named_or_refused_with_64(self):
        # slapd refuses with 64; AD fills the naming attribute from the RDN.
        ldif = user_ldif('u-nv', BASE).replace('cn: u-nv', 'cn: something-else')
        rc, out, err = self.server.ldapadd(ldif)
        if rc != 64:
            self.assertEqual(rc, 0, err)
            self.assertIn('u-nv', self.server.get(dn('u-nv'), 'cn')['cn'])

    def test_bad_dn_syntax_gives_34(self):
        conn = self.server.connect()
        with self.assertRaises(ldap.INVALID_DN_SYNTAX):
            conn.add_s('this is not a dn', [('objectClass', [b'top', b'container']), ('cn', [b'x'])])
        with self.assertRaises(ldap.INVALID_DN_SYNTAX):
            conn.search_s('cn=a,,dc=corp', ldap.SCOPE_BASE)
        rc, out, err = self.server.ldapadd('dn: nonsense\nobjectClass: top\n\n')
        self.assertEqual(rc, 34, err)

    def test_server_maintained_attributes_cannot_be_set(self):
        rc, out, err = self.server.ldapadd(user_ldif('u-ro', BASE, extra=['createTimestamp: 20200101000000Z']))
        self.assertIn(rc, (19, 53), err)

    # -- delete -------------------------------------------------------------
    def test_delete_leaf_then_again_gives_32(self):
        self.add(user_ldif('u-del', BASE))
        self.assertOk(self.server.ldapdelete(dn('u-del')))
        self.assertIsNone(self.server.get(dn('u-del')))
        self.assertRc(self.server.ldapdelete(dn('u-del')), 32)

    def test_delete_non_leaf_gives_66(self):
        self.add(ou_ldif('NonLeaf', BASE) + user_ldif('child', 'OU=NonLeaf,' + BASE))
        self.assertRc(self.server.ldapdelete('OU=NonLeaf,' + BASE), 66)

    def test_client_side_recursive_delete(self):
        self.add(ou_ldif('Rec', BASE) + ou_ldif('Sub', 'OU=Rec,' + BASE) + user_ldif('r1', 'OU=Sub,OU=Rec,' + BASE))
        self.assertOk(self.server.ldapdelete('-r', 'OU=Rec,' + BASE))
        self.assertIsNone(self.server.get('OU=Rec,' + BASE))

    def test_deleting_user_removes_it_from_groups(self):
        s = self.server
        self.add(user_ldif('u-gone', BASE) + group_ldif('g-gone', [dn('u-gone'), ADMIN_DN], BASE))
        self.assertIn(dn('g-gone').lower(), [v.lower() for v in s.get(dn('u-gone'), 'memberOf')['memberof']])
        self.assertOk(s.ldapdelete(dn('u-gone')))
        self.assertEqual([v.lower() for v in s.get(dn('g-gone'), 'member')['member']], [ADMIN_DN.lower()])
        self.assertEqual(s.search_dns('(member=%s)' % dn('u-gone')), [])

    def test_deleting_group_removes_member_of(self):
        s = self.server
        self.add(user_ldif('u-mo', BASE) + group_ldif('g-mo', [dn('u-mo')], BASE))
        self.assertOk(s.ldapdelete(dn('g-mo')))
        self.assertNotIn('memberof', s.get(dn('u-mo'), 'memberOf') or {})
        self.assertEqual(s.search_dns('(memberOf=%s)' % dn('g-mo')), [])

    def test_adding_nonexistent_member_in_ad_mode_is_refused(self):
        rc, out, err = self.server.ldapadd(group_ldif('g-ghost', [dn('no-such-user')], BASE))
        self.assertEqual(rc, 32, err)

    # -- modify -------------------------------------------------------------
    def test_modify_add_delete_replace(self):
        s = self.server
        self.add(user_ldif('u-mod', BASE))
        self.assertOk(s.ldapmodify(mod(dn('u-mod'), ('add', 'description', ['one', 'two']))))
        self.assertOk(s.ldapmodify(mod(dn('u-mod'), ('delete', 'description', ['one']))))
        self.assertEqual(s.get(dn('u-mod'), 'description')['description'], ['two'])
        self.assertOk(s.ldapmodify(mod(dn('u-mod'), ('replace', 'description', ['three', 'four']))))
        self.assertEqual(sorted(s.get(dn('u-mod'), 'description')['description']), ['four', 'three'])
        self.assertOk(s.ldapmodify(mod(dn('u-mod'), ('delete', 'description', []))))
        self.assertNotIn('description', s.get(dn('u-mod'), 'description'))
        self.assertOk(s.ldapmodify(mod(dn('u-mod'), ('replace', 'description', []))))  # no-op on absent

    def test_modify_increment(self):
        s = self.server
        self.add(user_ldif('u-inc', BASE, extra=['uidNumber: 41']))
        self.assertOk(s.ldapmodify(mod(dn('u-inc'), ('increment', 'uidNumber', ['1']))))
        self.assertOk(s.ldapmodify(mod(dn('u-inc'), ('increment', 'uidNumber', ['-2']))))
        self.assertEqual(s.get(dn('u-inc'), 'uidNumber')['uidnumber'], ['40'])

    def test_modify_updates_timestamps_and_modifiers_name(self):
        s = self.server
        self.add(user_ldif('u-ts', BASE))
        before = s.get(dn('u-ts'), '+', 'whenChanged')
        time.sleep(1.1)
        self.assertOk(s.ldapmodify(mod(dn('u-ts'), ('replace', 'description', ['x']))))
        after = s.get(dn('u-ts'), '+', 'whenChanged')
        self.assertGreater(after['modifytimestamp'][0], before['modifytimestamp'][0])
        self.assertGreater(after['whenchanged'][0], before['whenchanged'][0])
        self.assertEqual(after['createtimestamp'], before['createtimestamp'])
        self.assertEqual(after['modifiersname'][0].lower(), ADMIN_DN.lower())

    def test_modify_delete_missing_value_gives_16(self):
        self.add(user_ldif('u-16', BASE, extra=['description: here']))
        self.assertRc(self.server.ldapmodify(mod(dn('u-16'), ('delete', 'description', ['absent']))), 16)
        self.assertRc(self.server.ldapmodify(mod(dn('u-16'), ('delete', 'telephoneNumber', []))), 16)

    def test_modify_add_existing_value_gives_20(self):
        self.add(user_ldif('u-20', BASE, extra=['description: here']))
        self.assertRc(self.server.ldapmodify(mod(dn('u-20'), ('add', 'description', ['HERE']))), 20)

    def test_modify_removing_rdn_value_gives_67(self):
        self.add(user_ldif('u-67', BASE))
        self.assertRc(self.server.ldapmodify(mod(dn('u-67'), ('delete', 'cn', ['u-67']))), 67)

    def test_modify_second_single_value_gives_19(self):
        self.add(user_ldif('u-19', BASE, extra=['displayName: one']))
        self.assertRc(self.server.ldapmodify(mod(dn('u-19'), ('add', 'displayName', ['two']))), 19)

    def test_modify_bad_syntax_gives_21(self):
        self.add(user_ldif('u-21', BASE))
        self.assertRc(self.server.ldapmodify(mod(dn('u-21'), ('replace', 'uidNumber', ['twelve']))), 21)

    def test_modify_unknown_attribute_gives_17(self):
        self.add(user_ldif('u-17', BASE))
        self.assertRc(self.server.ldapmodify(mod(dn('u-17'), ('add', 'fooBarBazXyz', ['1']))), 17)

    def test_modify_disallowed_attribute_gives_65(self):
        self.add(user_ldif('u-65', BASE))
        self.assertRc(self.server.ldapmodify(mod(dn('u-65'), ('add', 'dc', ['x']))), 65)

    def test_modify_missing_entry_gives_32(self):
        self.assertRc(self.server.ldapmodify(mod(dn('nope'), ('add', 'description', ['x']))), 32)

    def test_modify_is_atomic(self):
        s = self.server
        self.add(user_ldif('u-atom', BASE, extra=['description: keep']))
        rc, out, err = s.ldapmodify(mod(dn('u-atom'), ('replace', 'description', ['changed']),
                                        ('add', 'uidNumber', ['bad'])))
        self.assertEqual(rc, 21, err)
        self.assertEqual(s.get(dn('u-atom'), 'description')['description'], ['keep'])

    def test_object_sid_and_guid_are_immutable(self):
        s = self.server
        self.add(user_ldif('u-imm', BASE))
        before = s.get(dn('u-imm'), 'objectSid', 'objectGUID')
        rc, out, err = s.ldapmodify(mod(dn('u-imm'), ('replace', 'objectGUID', ['0123456789abcdef'])))
        self.assertNotEqual(rc, 0)
        rc, out, err = s.ldapmodify(mod(dn('u-imm'), ('delete', 'objectSid', [])))
        self.assertNotEqual(rc, 0)
        self.assertEqual(s.get(dn('u-imm'), 'objectSid', 'objectGUID'), before)

    def test_member_of_cannot_be_written_directly(self):
        self.add(user_ldif('u-mow', BASE))
        rc, out, err = self.server.ldapmodify(mod(dn('u-mow'), ('add', 'memberOf', ['CN=Domain Admins,' + USERS])))
        self.assertNotEqual(rc, 0)
        self.assertNotIn('memberof', self.server.get(dn('u-mow'), 'memberOf'))

    def test_group_member_add_and_delete_maintains_member_of(self):
        s = self.server
        self.add(user_ldif('u-gm', BASE) + group_ldif('g-gm', [], BASE))
        self.assertOk(s.ldapmodify(mod(dn('g-gm'), ('add', 'member', [dn('u-gm')]))))
        self.assertEqual([v.lower() for v in s.get(dn('u-gm'), 'memberOf')['memberof']], [dn('g-gm').lower()])
        self.assertOk(s.ldapmodify(mod(dn('g-gm'), ('delete', 'member', [dn('u-gm')]))))
        self.assertNotIn('memberof', s.get(dn('u-gm'), 'memberOf'))

    # -- modify DN ------------------------------------------------------------
    def test_rename_with_delete_old_rdn(self):
        s = self.server
        self.add(user_ldif('u-ren', BASE))
        self.assertOk(s.ldapmodrdn('-r', dn('u-ren'), 'CN=u-renamed'))
        self.assertIsNone(s.get(dn('u-ren')))
        self.assertEqual(s.get(dn('u-renamed'), 'cn')['cn'], ['u-renamed'])

    def test_rename_keeping_old_rdn(self):
        s = self.server
        self.add(ou_ldif('KeepOld', BASE))
        self.assertOk(s.ldapmodrdn('OU=KeepOld,' + BASE, 'OU=KeptNew'))
        self.assertEqual(sorted(s.get('OU=KeptNew,' + BASE, 'ou')['ou']), ['KeepOld', 'KeptNew'])

    def test_rename_onto_existing_gives_68(self):
        self.add(user_ldif('u-ra', BASE) + user_ldif('u-rb', BASE))
        self.assertRc(self.server.ldapmodrdn('-r', dn('u-ra'), 'CN=u-rb'), 68)

    def test_move_with_new_superior(self):
        s = self.server
        self.add(ou_ldif('Dest', BASE) + user_ldif('u-mv', BASE))
        self.assertOk(s.ldapmodrdn('-r', '-s', 'OU=Dest,' + BASE, dn('u-mv'), 'CN=u-mv'))
        self.assertIsNone(s.get(dn('u-mv')))
        self.assertIsNotNone(s.get(dn('u-mv', 'OU=Dest,' + BASE)))
        self.assertEqual(s.search_dns('(sAMAccountName=u-mv)'), [dn('u-mv', 'OU=Dest,' + BASE)])

    def test_move_to_missing_superior_gives_32(self):
        self.add(user_ldif('u-mv32', BASE))
        self.assertRc(self.server.ldapmodrdn('-r', '-s', 'OU=NoSuchOu,' + BASE, dn('u-mv32'), 'CN=u-mv32'), 32)

    def test_moving_subtree_moves_children_and_rewrites_members(self):
        s = self.server
        team = 'OU=Team,' + BASE
        self.add(ou_ldif('Team', BASE) + ou_ldif('Inner', team) + user_ldif('t1', team) +
                 user_ldif('t2', 'OU=Inner,' + team) + ou_ldif('NewHome', BASE) +
                 group_ldif('g-team', [dn('t1', team), dn('t2', 'OU=Inner,' + team)], BASE))
        self.assertOk(s.ldapmodrdn('-r', '-s', 'OU=NewHome,' + BASE, team, 'OU=Team2'))
        moved = 'OU=Team2,OU=NewHome,' + BASE
        self.assertIsNone(s.get(team))
        self.assertIsNone(s.get(dn('t1', team)))
        self.assertIsNotNone(s.get(dn('t1', moved)))
        self.assertIsNotNone(s.get(dn('t2', 'OU=Inner,' + moved)))
        self.assertEqual(sorted(v.lower() for v in s.get(dn('g-team'), 'member')['member']),
                         sorted([dn('t1', moved).lower(), dn('t2', 'OU=Inner,' + moved).lower()]))
        self.assertEqual(sorted(x.lower() for x in s.search_dns('(memberOf=%s)' % dn('g-team'))),
                         sorted([dn('t1', moved).lower(), dn('t2', 'OU=Inner,' + moved).lower()]))
        self.assertEqual(s.search_dns('(sAMAccountName=t2)'), [dn('t2', 'OU=Inner,' + moved)])
        self.assertEqual(s.get(dn('t2', 'OU=Inner,' + moved), 'entryDN')['entrydn'][0].lower(),
                         dn('t2', 'OU=Inner,' + moved).lower())

    def test_renaming_group_updates_member_of(self):
        s = self.server
        self.add(user_ldif('u-rg', BASE) + group_ldif('g-old', [dn('u-rg')], BASE) +
                 group_ldif('g-parent', [dn('g-old')], BASE))
        self.assertOk(s.ldapmodrdn('-r', dn('g-old'), 'CN=g-new'))
        self.assertEqual([v.lower() for v in s.get(dn('u-rg'), 'memberOf')['memberof']], [dn('g-new').lower()])
        self.assertEqual([v.lower() for v in s.get(dn('g-parent'), 'member')['member']], [dn('g-new').lower()])
        self.assertIn(dn('u-rg').lower(),
                      [x.lower() for x in s.search_dns('(memberOf:1.2.840.113556.1.4.1941:=%s)' % dn('g-parent'))])

    def test_renaming_user_updates_group_member(self):
        s = self.server
        self.add(user_ldif('u-rm', BASE) + group_ldif('g-rm', [dn('u-rm')], BASE))
        self.assertOk(s.ldapmodrdn('-r', dn('u-rm'), 'CN=u-rm2'))
        self.assertEqual([v.lower() for v in s.get(dn('g-rm'), 'member')['member']], [dn('u-rm2').lower()])
        self.assertEqual([v.lower() for v in s.get(dn('u-rm2'), 'memberOf')['memberof']], [dn('g-rm').lower()])

    # -- compare ------------------------------------------------------------
    def test_compare_true_gives_6_and_false_gives_5(self):
        s = self.server
        self.add(user_ldif('u-cmp', BASE, extra=['uidNumber: 77']))
        self.assertRc(s.ldapcompare(dn('u-cmp'), 'sAMAccountName:U-CMP'), 6)
        self.assertRc(s.ldapcompare(dn('u-cmp'), 'sAMAccountName:other'), 5)
        self.assertRc(s.ldapcompare(dn('u-cmp'), 'uidNumber:77'), 6)

    def test_compare_missing_attribute_gives_16_and_missing_entry_32(self):
        self.add(user_ldif('u-cmp2', BASE))
        self.assertRc(self.server.ldapcompare(dn('u-cmp2'), 'telephoneNumber:1'), 16)
        self.assertRc(self.server.ldapcompare(dn('nope'), 'cn:x'), 32)

    def test_compare_user_password_is_refused(self):
        self.add(user_ldif('u-cmp3', BASE, password='Cv5-Jz5-Pw!'))
        rc, out, err = self.server.ldapcompare(dn('u-cmp3'), 'userPassword:Cv5-Jz5-Pw!')
        self.assertNotIn(rc, (5, 6), 'userPassword must not be comparable: rc=%d' % rc)

    def test_password_set_by_add_is_stored_hashed_not_in_export(self):
        s = self.server
        self.add(user_ldif('u-hash', BASE, password='Pv6-Jz4-Walrus-42'))
        out = s.ldapsearch('(cn=u-hash)', '*', '+', base=BASE)[1]
        self.assertNotIn('Pv6-Jz4-Walrus-42', out)
        self.assertNotIn('Pv6-Jz4-Walrus-42', s.log_text())


if __name__ == '__main__':
    harness.main()
