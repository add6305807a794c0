"""simplead-admin (init, import, export, verify, backup, restore), the
command line, the TOML config, signals and the access log."""

import base64
import hashlib
import os
import re
import signal
import time
import unittest

import harness
from harness import ADMIN_DN, DOMAIN, SUFFIX, USERS, ServerTestCase, SimpleAD, parse_ldif, run_admin, user_ldif


def ssha(password):
    salt = os.urandom(8)
    return '{SSHA}' + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def read(path):
    with open(path, 'rb') as f:
        return f.read()


class CommandLineTest(unittest.TestCase):

    def test_simplead_help_lists_the_flags(self):
        rc, out, err = harness.run([harness.simplead_bin(), '--help'])
        self.assertEqual(rc, 0, err)
        for flag in ('--data-dir', '--listen', '--domain', '--suffix', '--admin-password-file', '--config',
                     '--size-limit', '--max-filter-depth', '--idle-timeout', '--access-log'):
            self.assertIn(flag, out)

    def test_simplead_admin_help_lists_the_commands(self):
        rc, out, err = run_admin('--help')
        self.assertEqual(rc, 0, err)
        for cmd in ('init', 'import', 'export', 'backup', 'restore', 'verify'):
            self.assertIn(cmd, out)

    def test_domain_and_suffix_together_are_refused(self):
        rc, out, err = harness.run([harness.simplead_bin(), '--domain', DOMAIN, '--suffix', 'dc=x,dc=y',
                                    '--data-dir', '/nonexistent-e2e'], timeout=10)
        self.assertNotEqual(rc, 0)


class ConfigFileTest(unittest.TestCase):

    def test_server_runs_from_toml_config_and_password_file(self):
        s = SimpleAD(admin_password='Toml-Admin-Pa55!')
        try:
            os.makedirs(s.base_dir, exist_ok=True)
            pwfile = os.path.join(s.base_dir, 'admin.pw')
            with open(pwfile, 'w') as f:
                f.write(s.admin_password + '\n')
            conf = os.path.join(s.base_dir, 'simplead.toml')
            s.port = harness.free_port()
            with open(conf, 'w') as f:
                f.write('data-dir = "%s"\nlisten = "127.0.0.1:%d"\nldaps-listen = ""\ndomain = "%s"\n'
                        'admin-password-file = "%s"\nargon2-memory-kib = 1024\nargon2-iterations = 1\n'
                        'size-limit = 3\n' % (s.data_dir, s.port, DOMAIN, pwfile))
            s.argv = lambda: [harness.simplead_bin(), '--config', conf]
            s.fixed_port = s.port
            s.start()
            self.assertEqual(s.ldapwhoami()[0], 0, s.log_tail())
            rc, out, err = s.ldapsearch('(objectClass=*)', '1.1')
            self.assertEqual(rc, 4, 'size-limit = 3 from the config should cut the search: %s' % err)
            self.assertEqual(len(parse_ldif(out)), 3)
        finally:
            s.cleanup()


class AdminToolsTest(ServerTestCase):

    def provisioned_and_stopped(self):
        """A directory that ran once (so it is provisioned) and has stopped,
        for the offline tools; removed when the test ends."""
        d = SimpleAD()
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(d.stop(), 0, d.log_tail())
        return d

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.access_log = os.path.join(s.base_dir, 'access.log')
        s.extra_args = ['--access-log', cls.access_log]
        s.restart()
        rc, out, err = s.ldapadd(user_ldif('t-alice', password='Av8-Jz2-Pw!') +
                                 user_ldif('t-ssha', password=ssha('Ssha-Pa55word!')) +
                                 harness.group_ldif('t-group', ['CN=t-alice,' + USERS, 'CN=t-ssha,' + USERS]))
        assert rc == 0, (rc, out, err)

    def test_access_log_has_one_line_per_operation_without_secrets(self):
        s = self.server
        s.ldapsearch('(sAMAccountName=t-alice)', 'cn')
        s.ldapwhoami(bind=('CN=t-alice,' + USERS, 'Wrong-Secret-Pa55!'))
        text = ''
        for _ in range(50):  # the log may be flushed a moment later
            text = read(self.access_log).decode('utf-8', 'replace') if os.path.exists(self.access_log) else ''
            if 'result=49' in text:
                break
            time.sleep(0.1)
        self.assertRegex(text, r'conn=\d+ op=\d+ SEARCH dn="[^"]*" .*result=0 .*elapsed_ms=')
        self.assertRegex(text, r'conn=\d+ op=\d+ BIND dn="CN=t-alice,[^"]*" .*result=49')
        self.assertRegex(text, r'conn=\d+ op=\d+ ADD dn="CN=t-group,[^"]*" .*result=0')
        for secret in ('Wrong-Secret-Pa55!', 'Av8-Jz2-Pw!', s.admin_password, '{SSHA}', '{ARGON2'):
            self.assertNotIn(secret, text)
            self.assertNotIn(secret, s.log_text())

    def test_sighup_keeps_serving(self):
        s = self.server
        s.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertIsNone(s.proc.poll())
        self.assertEqual(s.ldapwhoami()[0], 0)

    def test_backup_of_running_server_restores(self):
        s = self.server
        backup = os.path.join(s.base_dir, 'backup1')
        rc, out, err = run_admin('backup', backup, '--data-dir', s.data_dir)
        self.assertEqual(rc, 0, out + err)
        restored = SimpleAD(base_dir=os.path.join(s.base_dir, 'restored'))
        try:
            # Backups never carry the root key: restoring without it is refused, with it works.
            rc, out, err = run_admin('restore', backup, '--data-dir', restored.data_dir)
            self.assertNotEqual(rc, 0)
            self.assertIn('root key', err)
            rc, out, err = run_admin('restore', backup, '--data-dir', restored.data_dir,
                                     '--kms-root-key', os.path.join(s.data_dir, 'kms', 'root.key'))
            self.assertEqual(rc, 0, out + err)
            rc, out, err = run_admin('verify', '--data-dir', restored.data_dir)
            self.assertEqual(rc, 0, out + err)
            restored.start()
            self.assertEqual(restored.search_dns('(sAMAccountName=t-alice)'), ['CN=t-alice,' + USERS])
            self.assertEqual(restored.ldapwhoami(bind=('t-alice@corp.example.com', 'Av8-Jz2-Pw!'))[0], 0)
        finally:
            restored.cleanup()

    def test_restore_refuses_existing_data_dir(self):
        s = self.server
        backup = os.path.join(s.base_dir, 'backup2')
        self.assertEqual(run_admin('backup', backup, '--data-dir', s.data_dir)[0], 0)
        rc, out, err = run_admin('restore', backup, '--data-dir', s.data_dir)
        self.assertNotEqual(rc, 0)

    def test_import_into_running_servers_data_dir_is_refused(self):
        s = self.server
        ldif = os.path.join(s.base_dir, 'one.ldif')
        with open(ldif, 'w') as f:
            f.write(user_ldif('t-offline'))
        rc, out, err = run_admin('import', ldif, '--data-dir', s.data_dir)
        self.assertNotEqual(rc, 0)
        self.assertIsNone(s.get('CN=t-offline,' + USERS))

    def test_export_import_export_is_identical_and_verify_is_clean(self):
        s = self.server
        # Exercise a login (rehash of the imported SSHA) before the export.
        self.assertEqual(s.ldapwhoami(bind=('CN=t-ssha,' + USERS, 'Ssha-Pa55word!'))[0], 0)
        self.assertEqual(s.stop(), 0)
        try:
            rc, out, err = run_admin('verify', '--data-dir', s.data_dir)
            self.assertEqual(rc, 0, out + err)
            self.assertRegex(out, r'\d+ entries, 0 problems')
            first = os.path.join(s.base_dir, 'first.ldif')
            rc, out, err = run_admin('export', '--data-dir', s.data_dir, first)
            self.assertEqual(rc, 0, err)
            text = read(first).decode()
            self.assertIn('dn: ' + SUFFIX.lower(), text.lower())
            self.assertIn('CN=t-group,' + USERS, text)
            # A rehash to the current scheme happened at the bind above.
            block = [b for b in text.split('\n\n') if b.startswith('dn: CN=t-ssha,')]
            self.assertEqual(len(block), 1)
            self.assertNotIn('{SSHA}', block[0])

            fresh = os.path.join(s.base_dir, 'fresh')
            rc, out, err = run_admin('import', first, '--data-dir', fresh, '--domain', DOMAIN, '--quiet')
            self.assertEqual(rc, 0, out + err)
            rc, out, err = run_admin('verify', '--data-dir', fresh)
            self.assertEqual(rc, 0, out + err)
            second = os.path.join(s.base_dir, 'second.ldif')
            rc, out, err = run_admin('export', '--data-dir', fresh, second)
            self.assertEqual(rc, 0, err)
            self.assertEqual(read(first), read(second))

            # The imported copy serves with the same passwords.
            copy = SimpleAD(base_dir=os.path.join(s.base_dir, 'copy'), data_dir=fresh)
            try:
                copy.start()
                self.assertEqual(copy.ldapwhoami(bind=('CN=t-alice,' + USERS, 'Av8-Jz2-Pw!'))[0], 0)
                self.assertEqual(copy.ldapwhoami(bind=(ADMIN_DN, s.admin_password))[0], 0)
                members = copy.search_dns('(memberOf=CN=t-group,%s)' % USERS)
                self.assertEqual(len(members), 2)
            finally:
                copy.cleanup()
        finally:
            s.start()

    def test_init_then_start(self):
        d = SimpleAD(admin_password='Init-Admin-Pa55!')
        try:
            os.makedirs(d.base_dir, exist_ok=True)
            env = harness.tool_env()
            env['SIMPLEAD_ADMIN_PASSWORD'] = d.admin_password
            rc, out, err = harness.run([harness.simplead_admin_bin(), 'init', '--domain', DOMAIN, '--netbios', 'CORP',
                                        '--data-dir', d.data_dir], env=env)
            self.assertEqual(rc, 0, out + err)
            self.assertNotIn(d.admin_password, out)
            rc, out, err = harness.run([harness.simplead_admin_bin(), 'init', '--domain', DOMAIN,
                                        '--data-dir', d.data_dir], env=env)
            self.assertNotEqual(rc, 0, 'init twice must fail')
            d.admin_password = 'Init-Admin-Pa55!'
            d.start()
            self.assertEqual(d.ldapwhoami(bind=('CORP\\Administrator', 'Init-Admin-Pa55!'))[0], 0)
        finally:
            d.cleanup()

    def test_import_users_into_provisioned_directory(self):
        d = self.provisioned_and_stopped()
        ldif = os.path.join(d.base_dir, 'users.ldif')
        with open(ldif, 'w') as f:
            f.write('version: 1\n\n')
            f.write(user_ldif('imp1', password=ssha('Mx1-Tz6-Pw!')))
            f.write(user_ldif('imp2', password=ssha('Mx2-Tz7-Pw!')))
            f.write(harness.group_ldif('imp-group', ['CN=imp1,' + USERS, 'CN=imp2,' + USERS]))
        rc, out, err = run_admin('import', ldif, '--data-dir', d.data_dir, '--quiet')
        self.assertEqual(rc, 0, out + err)
        self.assertIn('3', out)
        rc, out, err = run_admin('verify', '--data-dir', d.data_dir)
        self.assertEqual(rc, 0, out + err)
        d.start()
        self.assertEqual(d.ldapwhoami(bind=('imp1@corp.example.com', 'Mx1-Tz6-Pw!'))[0], 0)
        a = d.get('CN=imp2,' + USERS)
        self.assertEqual([v.lower() for v in a['memberof']], [('CN=imp-group,' + USERS).lower()])
        self.assertIn('objectsid', a)
        # Imported users get fresh RIDs that do not collide with new ones.
        self.assertEqual(d.ldapadd(user_ldif('after-import'))[0], 0)
        sids = [d.get('CN=%s,%s' % (n, USERS), 'objectSid')['objectsid'][0] for n in ('imp1', 'imp2', 'after-import')]
        self.assertEqual(len(set(sids)), 3)

    def test_import_links_nested_groups_and_reports_a_bad_entry_by_line(self):
        d = self.provisioned_and_stopped()
        good = os.path.join(d.base_dir, 'nested.ldif')
        with open(good, 'w') as f:
            f.write(user_ldif('nest-u1', password=None))
            f.write(user_ldif('nest-u2', password=None))
            f.write(harness.group_ldif('nest-inner', ['CN=nest-u1,' + USERS, 'CN=nest-u2,' + USERS]))
            f.write(harness.group_ldif('nest-outer', ['CN=nest-inner,' + USERS, 'CN=nest-u1,' + USERS]))
        rc, out, err = run_admin('import', good, '--data-dir', d.data_dir, '--quiet')
        self.assertEqual(rc, 0, out + err)
        rc, out, err = run_admin('verify', '--data-dir', d.data_dir)
        self.assertEqual(rc, 0, out + err)
        bad = os.path.join(d.base_dir, 'bad.ldif')
        with open(bad, 'w') as f:
            f.write(user_ldif('nest-u3', password=None))  # 9 lines with the blank one
            f.write(user_ldif('nest-u4', password=None).replace('sAMAccountName: nest-u4', 'sAMAccountName: nest-u3'))
        rc, out, err = run_admin('import', bad, '--data-dir', d.data_dir, '--quiet')
        self.assertNotEqual(rc, 0)
        self.assertIn('line 10', err)
        self.assertIn('import is incomplete', err)
        d.start()
        inner, outer = 'CN=nest-inner,' + USERS, 'CN=nest-outer,' + USERS
        u1 = d.get('CN=nest-u1,' + USERS, 'memberOf')
        self.assertEqual(sorted(v.lower() for v in u1['memberof']), sorted([inner.lower(), outer.lower()]))
        self.assertEqual([v.lower() for v in d.get(inner, 'memberOf')['memberof']], [outer.lower()])
        self.assertEqual(len(d.search_dns('(memberOf=%s)' % outer)), 2)

    def test_import_from_a_pipe_or_standard_input_reads_it_once_and_links_groups(self):
        # A file is read twice (members planned first); a pipe such as
        # <(zcat ...) or standard input can be read only once.
        d = self.provisioned_and_stopped()
        path = os.path.join(d.base_dir, 'piped.ldif')
        with open(path, 'w') as f:
            f.write(harness.group_ldif('pipe-g', ['CN=pipe-u1,' + USERS, 'CN=pipe-u2,' + USERS]))
            f.write(user_ldif('pipe-u1', password=None))
            f.write(user_ldif('pipe-u2', password=None))
        script = '"$0" import <(cat "$1") --data-dir "$2" --quiet'
        rc, out, err = harness.run(['bash', '-c', script, harness.simplead_admin_bin(), path, d.data_dir])
        self.assertEqual(rc, 0, out + err)
        self.assertIn('imported 3 entries', out)
        with open(path) as f:
            ldif = f.read().replace('pipe-', 'stdin-')
        rc, out, err = harness.run([harness.simplead_admin_bin(), 'import', '-', '--data-dir', d.data_dir, '--quiet'],
                                   input=ldif)
        self.assertEqual(rc, 0, out + err)
        self.assertIn('imported 3 entries', out)
        rc, out, err = run_admin('verify', '--data-dir', d.data_dir)
        self.assertEqual(rc, 0, out + err)
        d.start()
        for prefix in ('pipe-', 'stdin-'):
            group = 'CN=%sg,%s' % (prefix, USERS)
            for user in ('u1', 'u2'):
                got = d.get('CN=%s%s,%s' % (prefix, user, USERS), 'memberOf')['memberof']
                self.assertEqual([v.lower() for v in got], [group.lower()])
            self.assertEqual(len(d.search_dns('(memberOf=%s)' % group)), 2)

    def test_sigterm_is_a_clean_shutdown(self):
        d = self.provisioned_and_stopped()
        rc, out, err = run_admin('verify', '--data-dir', d.data_dir)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r'(?m)^\d+ entries, 0 problems', out)

    def test_sigterm_as_soon_as_the_port_answers_is_a_clean_stop(self):
        # Signals are caught before the listeners open, and the accept loops
        # close on their own strands: a stop racing the first accept once
        # ended in the default SIGTERM action or a crash (-15, -11).
        d = SimpleAD()
        self.addCleanup(d.cleanup)
        for attempt in range(8):
            d.start()
            self.assertEqual(d.stop(), 0, 'attempt %d: %s' % (attempt, d.log_tail()))


if __name__ == '__main__':
    harness.main()
