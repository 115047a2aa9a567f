import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Member } from '../api/members';

export function MemberAvatar({ member, size = 36 }: { member: Pick<Member, 'name' | 'avatar_url'>; size?: number }) {
  const { t } = useTranslation('members');
  const [broken, setBroken] = useState(false);
  if (member.avatar_url && !broken) {
    return (
      <img
        className="avatar"
        src={member.avatar_url}
        alt={t('avatarOf', { name: member.name })}
        width={size}
        height={size}
        loading="lazy"
        onError={() => setBroken(true)}
        data-testid="member-avatar"
      />
    );
  }
  return (
    <span className="avatar" style={{ width: size, height: size }} aria-hidden="true">
      {member.name.slice(0, 1).toUpperCase()}
    </span>
  );
}

export function StatusBadge({ status }: { status: Member['status'] }) {
  const { t } = useTranslation('members');
  const tone = status === 'active' ? 'badge--ok' : status === 'suspended' ? 'badge--warn' : '';
  return <span className={`badge ${tone}`}>{t(`statuses.${status}`)}</span>;
}
