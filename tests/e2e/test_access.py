"""Access control (issue 4): the built-in rules, rules from the configuration,
rules stored on entries (delegated OU administration, hidden subtrees),
protected administrative accounts and read-only service accounts, driven with
ldapsearch/ldapmodify/ldapadd/ldapcompare as each user."""

import ldap

import harness
from harness import ADMIN_DN, SUFFIX, USERS, ServerTestCase, group_ldif, ou_ldif, parse_ldif, user_ldif

SALES = 'OU=Sales,' + SUFFIX
MARKETING = 'OU=Marketing,' + SUFFIX
HIDDEN = 'OU=Hidden,' + SUFFIX
PUBLIC = 'OU=Public,' + SUFFIX
PW = 'Zk4-Vq8-Lw2!'

ALICE = 'CN=alice,' + USERS
BOB = 'CN=bob,' + USERS
CAROL = 'CN=carol,' + USERS
SVC = 'CN=svc-reader,' + USERS
SALES_ADMINS = 'CN=Sales Admins,' + SALES


def low(dns):
    return [d.lower() for d in dns]


def me(dn):
    return (dn, PW)


mod = harness.modify_ldif


class AccessControlTest(ServerTestCase):
    # A configured rule: anonymous may read names under OU=Public (and only there).
    # And a helpdesk account that may write descriptions of users it cannot see all of.
    server_kwargs = {'extra_args': ['--access-rule', 'allow read on "%s" attrs=cn,ou,objectClass by anonymous'
                                    % PUBLIC,
                                    '--access-rule', 'allow write on "%s" attrs=description by dn="%s"'
                                    % (USERS, 'CN=helpdesk,' + USERS)]}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        ldif = (user_ldif('alice', extra=['telephoneNumber: +1 555 0100', 'title: Engineer']) +
                user_ldif('bob') + user_ldif('carol') + user_ldif('svc-reader') + user_ldif('helpdesk') +
                ou_ldif('Sales') + ou_ldif('Marketing') + ou_ldif('Hidden') + ou_ldif('Public') +
                group_ldif('Sales Admins', [CAROL], SALES) +
                user_ldif('sam', SALES) + user_ldif('boss', SALES) +
                user_ldif('secret-agent', HIDDEN) + user_ldif('pub', PUBLIC))
        rc, out, err = s.ldapadd(ldif)
        assert rc == 0, (rc, out, err)
        members = mod('CN=Service Accounts,' + USERS, ('add', 'member', [SVC]))
        members += '\n' + mod('CN=Domain Admins,' + USERS, ('add', 'member', ['CN=boss,' + SALES]))
        # Delegation and hiding live on the OUs themselves.
        members += '\n' + mod(SALES, ('add', 'simpleadAccessRule', ['allow all by group="%s"' % SALES_ADMINS]))
        members += '\n' + mod(HIDDEN, ('add', 'simpleadAccessRule', ['deny read by authenticated']))
        rc, out, err = s.ldapmodify(members)
        assert rc == 0, (rc, out, err)
        # bob mistypes his password once: badPwdCount=1 on his entry.
        rc, _, _ = s.ldapwhoami(bind=(BOB, 'wrong-password'))
        assert rc == 49, rc

    # -- anonymous ---------------------------------------------------------
    def test_anonymous_sees_nothing_in_the_users_container(self):
        rc, out, err = self.server.ldapsearch('(objectClass=*)', 'cn', base=USERS, bind=None)
        self.assertIn(rc, (0, 32), err)
        self.assertEqual(parse_ldif(out), [])
        self.assertNotIn('matched dn', (err + out).lower(), 'no matchedDN naming what anonymous may not see')

    def test_anonymous_still_reads_the_root_dse_and_subschema(self):
        rc, out, err = self.server.ldapsearch('-s', 'base', '(objectClass=*)', 'namingContexts', base='', bind=None)
        self.assertEqual(rc, 0, err)
        self.assertIn(SUFFIX, out)
        rc, out, err = self.server.ldapsearch('-s', 'base', '(objectClass=*)', 'objectClasses', base='cn=Subschema',
                                              bind=None)
        self.assertEqual(rc, 0, err)
        self.assertIn('objectClasses:', out)

    def test_a_configured_rule_opens_one_subtree_to_anonymous(self):
        rc, out, err = self.server.ldapsearch('(cn=pub)', 'cn', 'sn', base=PUBLIC, bind=None)
        self.assertEqual(rc, 0, err)
        entries = parse_ldif(out)
        self.assertEqual([dn.lower() for dn, _ in entries], [('CN=pub,' + PUBLIC).lower()])
        self.assertEqual(entries[0][1], {'cn': ['pub']}, 'only the attributes the rule names')
        rc, out, err = self.server.ldapsearch('(cn=alice)', 'cn', base=SUFFIX, bind=None)
        self.assertEqual(parse_ldif(out), [])

    # -- authenticated users -------------------------------------------------
    def test_alice_reads_alice_and_bob_but_not_bobs_badpwdcount(self):
        s = self.server
        self.assertEqual(s.get(BOB, 'badPwdCount')['badpwdcount'], ['1'], 'precondition: admin sees it')
        mine = s.get(ALICE, '*', bind=me(ALICE))
        self.assertEqual(mine['title'], ['Engineer'])
        bob = s.get(BOB, 'cn', 'badPwdCount', 'badPasswordTime', bind=me(ALICE))
        self.assertEqual(bob['cn'], ['bob'])
        self.assertNotIn('badpwdcount', bob)
        self.assertNotIn('badpasswordtime', bob)

    def test_self_reads_own_confidential_attributes(self):
        s = self.server
        self.add(user_ldif('dave'))
        dave = 'CN=dave,' + USERS
        self.assertRc(s.ldapwhoami(bind=(dave, 'wrong')), 49)
        # Reading it takes a successful bind, which resets the count to 0: still readable by dave.
        self.assertEqual(s.get(dave, 'badPwdCount', bind=me(dave))['badpwdcount'], ['0'])
        self.assertNotIn('badpwdcount', s.get(dave, 'badPwdCount', bind=me(ALICE)))

    def test_nobody_reads_verifiers_not_even_administrators(self):
        for who in ('admin', me(ALICE)):
            entry = self.server.get(ALICE, 'userPassword', 'unicodePwd', bind=who)
            self.assertNotIn('userpassword', entry or {})

    def test_filters_on_unreadable_attributes_match_nothing(self):
        s = self.server
        # Positive control: the administrator matches bob on badPwdCount.
        self.assertIn(BOB.lower(), low(s.search_dns('(badPwdCount>=0)', base=USERS)))
        for filt in ('(userPassword=*)', '(badPwdCount>=0)', '(badPwdCount=1)', '(|(badPwdCount=*)(cn=nobody))',
                     '(!(!(badPwdCount=1)))'):
            self.assertEqual(s.search_dns(filt, base=SUFFIX, bind=me(ALICE)), [], filt)
        # Not even through a NOT: an unreadable item is Undefined, and NOT Undefined is Undefined.
        everyone_else = low(s.search_dns('(&(objectClass=user)(!(badPwdCount=1)))', base=USERS, bind=me(ALICE)))
        self.assertNotIn(BOB.lower(), everyone_else)
        rc, out, err = s.ldapcompare(BOB, 'badPwdCount:1', bind=me(ALICE))
        self.assertEqual(rc, 50, (out, err))

    def test_alice_modifying_bob_gets_50(self):
        rc, out, err = self.server.ldapmodify(mod(BOB, ('replace', 'description', ['by alice'])), bind=me(ALICE))
        self.assertEqual(rc, 50, err)
        self.assertIn('insufficient access', err.lower())
        self.assertNotIn('description', self.server.get(BOB, 'description'))

    def test_alice_changes_her_own_phone_but_not_her_title(self):
        s = self.server
        self.assertOk(s.ldapmodify(mod(ALICE, ('replace', 'telephoneNumber', ['+1 555 0199'])), bind=me(ALICE)))
        self.assertEqual(s.get(ALICE, 'telephoneNumber')['telephonenumber'], ['+1 555 0199'])
        rc, _, err = s.ldapmodify(mod(ALICE, ('replace', 'title', ['CEO'])), bind=me(ALICE))
        self.assertEqual(rc, 50, err)
        self.assertEqual(s.get(ALICE, 'title')['title'], ['Engineer'])

    def test_users_cannot_add_or_delete(self):
        s = self.server
        self.assertRc(s.ldapadd(user_ldif('mallory'), bind=me(ALICE)), 50)
        self.assertIsNone(s.get('CN=mallory,' + USERS))
        self.assertRc(s.ldapdelete(BOB, bind=me(ALICE)), 50)
        self.assertIsNotNone(s.get(BOB))

    def test_users_cannot_grant_themselves_rules(self):
        rc, _, err = self.server.ldapmodify(mod(ALICE, ('add', 'simpleadAccessRule', ['allow all by self'])),
                                            bind=me(ALICE))
        self.assertEqual(rc, 50, err)
        self.assertIn('simpleadAccessRule', err)

    def test_the_assertion_control_cannot_probe_unreadable_values(self):
        s = self.server
        helpdesk = me('CN=helpdesk,' + USERS)
        change = mod(BOB, ('replace', 'description', ['checked by helpdesk']))
        # bob's badPwdCount is 1, but the helpdesk may not read it: the assertion is not true.
        rc, _, err = s.ldapmodify(change, '-e', 'assert=(badPwdCount=1)', bind=helpdesk)
        self.assertEqual(rc, 122, err)
        rc, _, err = s.ldapmodify(change, '-e', 'assert=(!(badPwdCount=1))', bind=helpdesk)
        self.assertEqual(rc, 122, err)
        self.assertNotIn('description', s.get(BOB, 'description'))
        # What it may read works as usual; the configured write rule holds.
        self.assertOk(s.ldapmodify(change, '-e', 'assert=(cn=bob)', bind=helpdesk))
        self.assertEqual(s.get(BOB, 'description')['description'], ['checked by helpdesk'])
        self.assertRc(s.ldapmodify(mod(BOB, ('replace', 'title', ['x'])), bind=helpdesk), 50)
        self.assertOk(s.ldapmodify(mod(BOB, ('delete', 'description', []))))

    # -- delegated administration ------------------------------------------
    def test_delegated_admin_creates_users_in_her_ou_and_nowhere_else(self):
        s = self.server
        self.assertOk(s.ldapadd(user_ldif('new-in-sales', SALES), bind=me(CAROL)), 'carol adds in OU=Sales')
        self.assertIsNotNone(s.get('CN=new-in-sales,' + SALES))
        for parent in (USERS, MARKETING, SUFFIX):
            rc, _, err = s.ldapadd(user_ldif('carols-%d' % len(parent), parent), bind=me(CAROL))
            self.assertEqual(rc, 50, 'carol adds under %s: %s' % (parent, err))
            self.assertIsNone(s.get('CN=carols-%d,%s' % (len(parent), parent)))

    def test_delegated_admin_resets_passwords_and_edits_in_her_ou_only(self):
        s = self.server
        sam = 'CN=sam,' + SALES
        self.assertOk(s.ldapmodify(mod(sam, ('replace', 'userPassword', ['Fresh-Pa55-word!'])), bind=me(CAROL)))
        self.assertOk(s.ldapwhoami(bind=(sam, 'Fresh-Pa55-word!')), 'sam binds with the password carol set')
        self.assertOk(s.ldapmodify(mod(sam, ('replace', 'title', ['Rep'])), bind=me(CAROL)))
        self.assertRc(s.ldapmodify(mod(BOB, ('replace', 'title', ['Rep'])), bind=me(CAROL)), 50)
        self.assertRc(s.ldapmodify(mod(BOB, ('replace', 'userPassword', ['Fresh-Pa55-word!'])), bind=me(CAROL)), 50)

    def test_delegated_admin_cannot_escalate(self):
        s = self.server
        rc, _, err = s.ldapmodify(mod('CN=Domain Admins,' + USERS, ('add', 'member', [CAROL])), bind=me(CAROL))
        self.assertEqual(rc, 50, err)
        rc, _, err = s.ldapmodify(mod(SALES, ('add', 'simpleadAccessRule', ['allow all on "%s" by self' % SUFFIX])),
                                  bind=me(CAROL))
        self.assertEqual(rc, 50, err)
        # boss is a Domain Admin living in her OU: protected, as AD's AdminSDHolder.
        rc, _, err = s.ldapmodify(mod('CN=boss,' + SALES, ('replace', 'userPassword', ['Stolen-Pa55-word!'])),
                                  bind=me(CAROL))
        self.assertEqual(rc, 50, err)
        self.assertIn('protected', err)
        self.assertRc(s.ldapwhoami(bind=('CN=boss,' + SALES, 'Stolen-Pa55-word!')), 49)

    def test_membership_changes_apply_to_the_next_operation(self):
        s = self.server
        self.add(user_ldif('erin'))
        erin = 'CN=erin,' + USERS
        self.assertRc(s.ldapadd(user_ldif('erins-user', SALES), bind=me(erin)), 50)
        self.assertOk(s.ldapmodify(mod(SALES_ADMINS, ('add', 'member', [erin]))))
        self.assertOk(s.ldapadd(user_ldif('erins-user', SALES), bind=me(erin)))
        self.assertOk(s.ldapmodify(mod(SALES_ADMINS, ('delete', 'member', [erin]))))
        self.assertRc(s.ldapdelete('CN=erins-user,' + SALES, bind=me(erin)), 50)

    # -- hidden subtrees -----------------------------------------------------
    def test_hidden_entries_answer_as_if_absent(self):
        s = self.server
        agent = 'CN=secret-agent,' + HIDDEN
        self.assertIsNotNone(s.get(agent), 'the administrator sees it')
        rc, out, err = s.ldapsearch('(objectClass=*)', '-s', 'base', base=agent, bind=me(ALICE))
        self.assertEqual(rc, 32, err)
        matched = [line for line in (out + err).splitlines() if line.startswith('Matched DN:')]
        self.assertEqual(matched, ['Matched DN: %s' % SUFFIX], 'matchedDN stops at what alice may see')
        self.assertEqual(s.search_dns('(cn=secret-agent)', base=SUFFIX, bind=me(ALICE)), [])
        rc, _, _ = s.ldapcompare(agent, 'cn:secret-agent', bind=me(ALICE))
        self.assertEqual(rc, 32)
        rc, _, _ = s.ldapmodify(mod(agent, ('replace', 'description', ['x'])), bind=me(ALICE))
        self.assertEqual(rc, 32, 'a write to an invisible entry is noSuchObject, not 50')

    # -- service accounts ----------------------------------------------------
    def test_service_accounts_read_but_never_write(self):
        s = self.server
        self.assertIn(ALICE.lower(), low(s.search_dns('(objectClass=user)', base=USERS, bind=me(SVC))))
        rc, _, err = s.ldapmodify(mod(SVC, ('replace', 'telephoneNumber', ['+1 555 0000'])), bind=me(SVC))
        self.assertEqual(rc, 50, err)

    # -- rule syntax ----------------------------------------------------------
    def test_a_malformed_rule_is_refused_with_21_naming_the_problem(self):
        rc, _, err = self.server.ldapmodify(mod(MARKETING, ('add', 'simpleadAccessRule', ['allow fly by self'])))
        self.assertEqual(rc, 21, err)
        self.assertIn('unknown right "fly"', err)
        self.assertNotIn('simpleadaccessrule', self.server.get(MARKETING, 'simpleadAccessRule') or {})
        rc, _, err = self.server.ldapmodify(mod(MARKETING, ('add', 'simpleadAccessRule',
                                                             ['allow read on "%s" by anonymous' % SUFFIX])))
        self.assertEqual(rc, 21, err)

    def test_administrators_are_not_bound_by_rules(self):
        agent = 'CN=secret-agent,' + HIDDEN
        self.assertOk(self.server.ldapmodify(mod(agent, ('replace', 'description', ['admin was here']))))


class BadConfiguredRuleTest(ServerTestCase):
    """A server whose configured rule does not parse refuses to start and says why."""

    server_kwargs = {'extra_args': ['--access-rule', 'allow read by everybody']}

    @classmethod
    def setUpClass(cls):
        cls.server = harness.SimpleAD(**cls.server_kwargs)

    def test_refuses_to_start(self):
        with self.assertRaises(Exception):
            self.server.start(timeout=15)
        self.assertIn('unknown subject', self.server.log_text())


if __name__ == '__main__':
    harness.main()
