// Backups: download a dump of the database as it is now.

import { can } from './api.js';
import { h } from './dom.js';

export async function backupsView() {
  return h('div', {},
    h('h1', {}, 'Backups'),
    h('section', { class: 'panel' },
      h('h2', {}, 'Download a backup'),
      h('p', {}, 'One consistent snapshot of the whole database (content, history, chat) as gzip’d SQL. '
        + 'Sign-ins to this app are never included.'),
      can('root')
        ? h('p', {}, h('a', { class: 'btn btn-primary', href: '/api/v1/admin/backup', download: true,
          id: 'download-backup' }, 'Download .sql.gz'))
        : h('p', { class: 'panel notice' }, 'Downloading a backup needs the admin key: a dump holds everything, '
          + 'API tokens’ records included. Sign out and sign in with the admin key.')),
    h('section', { class: 'panel' },
      h('h2', {}, 'Restoring'),
      h('p', {}, 'Load the file with the command line tool on the server; --force replaces what is there. '
        + 'The server can keep running: it shows the restored content within a second. All or nothing: '
        + 'a damaged file changes nothing.'),
      h('pre', { class: 'mono' }, 'folionaut restore --force folionaut-YYYYMMDD-HHMMSS.sql.gz'),
      h('p', {}, 'or open it with the sqlite3 shell: ',
        h('code', {}, 'gunzip -c FILE | sqlite3 new.db'), '. Scheduled backups: ',
        h('code', {}, 'folionaut dump --gzip'), ' from cron.')));
}
