"""Extended operations (WhoAmI, Password Modify) and password handling:
unicodePwd, imported hashes."""

import base64
import hashlib
import os
import re

import harness
from harness import ADMIN_DN, SUFFIX, ServerTestCase, ou_ldif, user_ldif

BASE = 'OU=Ext,' + SUFFIX


def dn(cn, parent=BASE):
    return 'CN=%s,%s' % (cn, parent)


def ssha(password, salt=None):
    salt = salt or os.urandom(8)
    return '{SSHA}' + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def ssha512(password, salt=None):
    salt = salt or os.urandom(8)
    return '{SSHA512}' + base64.b64encode(hashlib.sha512(password.encode() + salt).digest() + salt).decode()


def unicode_pwd(password):
    return base64.b64encode(('"%s"' % password).encode('utf-16-le')).decode()


class ExtendedTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # No minimum password age (AD's default is one day), so that users
        # may change the password they were just given.
        rc, out, err = cls.server.ldapmodify('dn: %s\nchangetype: modify\nreplace: minPwdAge\nminPwdAge: 0\n-\n'
                                             % SUFFIX)
        assert rc == 0, (rc, out, err)
        rc, out, err = cls.server.ldapadd(ou_ldif('Ext'))
        assert rc == 0, (rc, out, err)

    def binds(self, who, password):
        return self.server.ldapwhoami(bind=(who, password))[0] == 0

    def test_whoami_as_admin(self):
        rc, out, err = self.assertOk(self.server.ldapwhoami())
        self.assertEqual(out.strip().lower(), 'dn:' + ADMIN_DN.lower())

    def test_whoami_anonymous(self):
        rc, out, err = self.assertOk(self.server.ldapwhoami(bind=None))
        self.assertEqual(out.strip().lower(), 'anonymous')

    def test_ldapexop_whoami(self):
        rc, out, err = self.assertOk(self.server.ldapexop('whoami'))
        self.assertIn('dn:' + ADMIN_DN.lower(), out.lower())

    def test_unknown_extended_operation_gives_protocol_error(self):
        rc, out, err = self.server.ldapexop('1.2.3.4.5.6.7.8.9')
        self.assertNotEqual(rc, 0)  # ldapexop exits 1; the result code is in the message
        self.assertIn('Protocol error (2)', err)

    def test_self_change_with_old_password(self):
        self.add(user_ldif('p-self', BASE, password='Ov1-Kz9-Pw!'))
        self.assertOk(self.server.ldappasswd('-a', 'Ov1-Kz9-Pw!', '-s', 'Nv2-Kz8-Pw!',
                                             bind=(dn('p-self'), 'Ov1-Kz9-Pw!')))
        self.assertTrue(self.binds(dn('p-self'), 'Nv2-Kz8-Pw!'))
        self.assertFalse(self.binds(dn('p-self'), 'Ov1-Kz9-Pw!'))

    def test_self_change_with_wrong_old_password_fails(self):
        self.add(user_ldif('p-wrong', BASE, password='Ov1-Kz9-Pw!'))
        rc, out, err = self.server.ldappasswd('-a', 'Xx3-Kz7-Pw!', '-s', 'Nv2-Kz8-Pw!',
                                              bind=(dn('p-wrong'), 'Ov1-Kz9-Pw!'))
        self.assertNotEqual(rc, 0)
        self.assertTrue(self.binds(dn('p-wrong'), 'Ov1-Kz9-Pw!'))

    def test_admin_reset(self):
        self.add(user_ldif('p-reset', BASE, password='Ov1-Kz9-Pw!'))
        self.assertOk(self.server.ldappasswd('-s', 'Rv4-Kz6-Pw!', dn('p-reset')))
        self.assertTrue(self.binds('p-reset@corp.example.com', 'Rv4-Kz6-Pw!'))
        self.assertFalse(self.binds('p-reset@corp.example.com', 'Ov1-Kz9-Pw!'))

    def test_generated_password_is_printed_and_binds(self):
        self.add(user_ldif('p-gen', BASE, password='Ov1-Kz9-Pw!'))
        rc, out, err = self.assertOk(self.server.ldappasswd(dn('p-gen')))
        m = re.search(r'New password: (\S+)', out)
        self.assertIsNotNone(m, out)
        self.assertTrue(self.binds(dn('p-gen'), m.group(1)))

    def test_user_cannot_reset_another_users_password(self):
        self.add(user_ldif('p-a', BASE, password='Av5-Kz5-Pw!') + user_ldif('p-b', BASE, password='Bv6-Kz4-Pw!'))
        rc, out, err = self.server.ldappasswd('-s', 'Hv7-Kz3-Pw!', dn('p-b'), bind=(dn('p-a'), 'Av5-Kz5-Pw!'))
        self.assertNotEqual(rc, 0)  # ldappasswd exits 1; the result code is in the message
        self.assertIn('(50)', out + err)
        self.assertTrue(self.binds(dn('p-b'), 'Bv6-Kz4-Pw!'))

    def test_anonymous_password_modify_is_refused(self):
        self.add(user_ldif('p-anon', BASE, password='Yv8-Kz2-Pw!'))
        rc, out, err = self.server.ldappasswd('-s', 'Xv9-Kz1-Pw!', dn('p-anon'), bind=None)
        self.assertNotEqual(rc, 0)
        self.assertTrue(self.binds(dn('p-anon'), 'Yv8-Kz2-Pw!'))

    def test_admin_sets_unicode_pwd(self):
        self.add(user_ldif('p-uni', BASE, password=None))
        self.assertOk(self.server.ldapmodify(
            'dn: %s\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: %s\n-\nreplace: userAccountControl\n'
            'userAccountControl: 512\n-\n' % (dn('p-uni'), unicode_pwd('Uv1-Jz9-Pw!'))))
        self.assertTrue(self.binds('CORP\\p-uni', 'Uv1-Jz9-Pw!'))

    def test_user_changes_unicode_pwd_with_delete_old_add_new(self):
        self.add(user_ldif('p-uni2', BASE, password='Ov1-Kz9-Pw!'))
        self.assertOk(self.server.ldapmodify(
            'dn: %s\nchangetype: modify\ndelete: unicodePwd\nunicodePwd:: %s\n-\nadd: unicodePwd\n'
            'unicodePwd:: %s\n-\n' % (dn('p-uni2'), unicode_pwd('Ov1-Kz9-Pw!'), unicode_pwd('Nv2-Kz8-Pw!')),
            bind=(dn('p-uni2'), 'Ov1-Kz9-Pw!')))
        self.assertTrue(self.binds(dn('p-uni2'), 'Nv2-Kz8-Pw!'))

    def test_userpassword_modify_by_admin_then_bind(self):
        self.add(user_ldif('p-mod', BASE, password='Ov1-Kz9-Pw!'))
        self.assertOk(self.server.ldapmodify('dn: %s\nchangetype: modify\nreplace: userPassword\n'
                                             'userPassword: Mv2-Jz8-Pw!\n-\n' % dn('p-mod')))
        self.assertTrue(self.binds(dn('p-mod'), 'Mv2-Jz8-Pw!'))
        out = self.server.ldapsearch('(cn=p-mod)', 'userPassword', '*', base=BASE)[1]
        self.assertNotIn('userpassword', out.lower())

    def test_imported_ssha_and_ssha512_hashes_verify(self):
        self.add(user_ldif('p-ssha', BASE, password=ssha('Ssha-Pa55word!')) +
                 user_ldif('p-ssha512', BASE, password=ssha512('Ssha512-Pa55word!')))
        self.assertTrue(self.binds(dn('p-ssha'), 'Ssha-Pa55word!'))
        self.assertFalse(self.binds(dn('p-ssha'), 'wrong'))
        self.assertTrue(self.binds(dn('p-ssha512'), 'Ssha512-Pa55word!'))
        self.assertTrue(self.binds(dn('p-ssha'), 'Ssha-Pa55word!'))  # again, after the rehash

    def test_imported_crypt_sha512_hash_verifies(self):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            import crypt
        h = crypt.crypt('Crypt-Pa55word!', crypt.mksalt(crypt.METHOD_SHA512))
        self.add(user_ldif('p-crypt', BASE, password='{CRYPT}' + h))
        self.assertTrue(self.binds(dn('p-crypt'), 'Crypt-Pa55word!'))
        self.assertFalse(self.binds(dn('p-crypt'), 'Crypt-Pa55word?'))

    def test_password_never_in_logs(self):
        self.add(user_ldif('p-log', BASE, password='Lv3-Jz7-Zebra!'))
        self.binds(dn('p-log'), 'Lv3-Jz7-Zebra!')
        self.binds(dn('p-log'), 'Lv4-Jz6-Quail!')
        log = self.server.log_text()
        self.assertNotIn('Lv3-Jz7-Zebra!', log)
        self.assertNotIn('Lv4-Jz6-Quail!', log)
        self.assertNotIn(self.server.admin_password, log)


if __name__ == '__main__':
    harness.main()
