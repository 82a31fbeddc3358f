import { useMutation, useQuery } from '@tanstack/react-query';
import { type DragEvent, useState } from 'react';
import { keys, queryClient, trpc } from '../../api.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useTenantId } from '../../session.tsx';
import { Empty, ErrorState, Field, Loading, Notice, PageTitle, Section } from '../../ui/index.tsx';
import { CrmTabs } from './nav.tsx';

type Pipeline = Awaited<ReturnType<typeof trpc.crm.pipelines.list.query>>['items'][number];
type Lead = Awaited<ReturnType<typeof trpc.crm.leads.list.query>>['items'][number];

function NewPipeline() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const [name, setName] = useState('Sales');
  const [stages, setStages] = useState('New, Qualified, Proposal, Won, Lost');
  const create = useMutation({
    mutationFn: () =>
      trpc.crm.pipelines.create.mutate({
        name,
        stages: stages
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map((s) => ({ name: s, isWon: /^won$/i.test(s), isLost: /^lost$/i.test(s) })),
      }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.scoped(tenantId, 'pipelines') }),
  });
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <Field label={t('Pipeline name')}>
        {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label={t('Stages')} hint={t('Comma-separated, in order')}>
        {(p) => <input {...p} required value={stages} onChange={(e) => setStages(e.target.value)} />}
      </Field>
      <button type="submit" disabled={create.isPending}>
        {t('Create pipeline')}
      </button>
      <Notice error={create.error} />
    </form>
  );
}

function Board({ pipeline }: { pipeline: Pipeline }) {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const key = [...keys.scoped(tenantId, 'leads'), pipeline.id];
  const leads = useQuery({
    queryKey: key,
    queryFn: () => trpc.crm.leads.list.query({ pipelineId: pipeline.id, limit: 100 }),
  });
  const [title, setTitle] = useState('');
  const [dragging, setDragging] = useState<string | null>(null);
  const [over, setOver] = useState<string | null>(null);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: key });
  const create = useMutation({
    mutationFn: (stageId: string) => trpc.crm.leads.create.mutate({ title, pipelineId: pipeline.id, stageId }),
    onSuccess: () => {
      setTitle('');
      refresh();
    },
  });
  const move = useMutation({
    mutationFn: (input: { id: string; stageId: string }) => trpc.crm.leads.move.mutate(input),
    // Optimistic: the card moves at once, and back if the server refuses.
    onMutate: async ({ id, stageId }) => {
      await queryClient.cancelQueries({ queryKey: key });
      const previous = queryClient.getQueryData<{ items: Lead[]; nextCursor: string | null }>(key);
      if (previous) {
        queryClient.setQueryData(key, { ...previous, items: previous.items.map((l) => (l.id === id ? { ...l, stageId } : l)) });
      }
      return { previous };
    },
    onError: (_e, _v, context) => {
      if (context?.previous) queryClient.setQueryData(key, context.previous);
    },
    onSettled: refresh,
  });
  const stages = [...pipeline.stages].sort((a, b) => a.position - b.position);
  const firstStage = stages[0];
  if (leads.isPending) return <Loading />;
  if (leads.isError) return <ErrorState error={leads.error} />;
  const drop = (stageId: string) => (e: DragEvent) => {
    e.preventDefault();
    const id = e.dataTransfer.getData('text/plain') || dragging;
    setOver(null);
    setDragging(null);
    const lead = leads.data.items.find((l) => l.id === id);
    if (lead && lead.stageId !== stageId) move.mutate({ id: lead.id, stageId });
  };
  return (
    <>
      {firstStage && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate(firstStage.id);
          }}
        >
          <Field label={t('New lead')}>
            {(p) => <input {...p} required value={title} onChange={(e) => setTitle(e.target.value)} />}
          </Field>
          <button type="submit" disabled={create.isPending}>
            {t('Add lead')}
          </button>
        </form>
      )}
      <Notice error={create.error ?? move.error} />
      <div className="board">
        {stages.map((stage, index) => {
          const cards = leads.data.items.filter((l) => l.stageId === stage.id);
          return (
            <section
              key={stage.id}
              className={`column${over === stage.id ? ' over' : ''}`}
              aria-label={stage.name}
              onDragOver={(e) => {
                e.preventDefault();
                setOver(stage.id);
              }}
              onDragLeave={() => setOver(null)}
              onDrop={drop(stage.id)}
            >
              <h3>
                {stage.name} <small>({cards.length})</small>
              </h3>
              {cards.length === 0 && <p className="state empty">{t('Drop leads here')}</p>}
              {cards.map((lead) => (
                <article
                  key={lead.id}
                  className="lead"
                  draggable
                  onDragStart={(e) => {
                    e.dataTransfer.setData('text/plain', lead.id);
                    setDragging(lead.id);
                  }}
                >
                  <strong>{lead.title}</strong>
                  {lead.value && (
                    <small>
                      {' '}
                      {lead.value} {lead.currency}
                    </small>
                  )}
                  {/* Keyboard and screen-reader users move cards with these buttons instead of dragging. */}
                  <div className="row">
                    <button
                      type="button"
                      className="secondary small"
                      disabled={index === 0}
                      aria-label={t('Move {title} back', { title: lead.title })}
                      onClick={() => {
                        const target = stages[index - 1];
                        if (target) move.mutate({ id: lead.id, stageId: target.id });
                      }}
                    >
                      ←
                    </button>
                    <button
                      type="button"
                      className="secondary small"
                      disabled={index === stages.length - 1}
                      aria-label={t('Move {title} forward', { title: lead.title })}
                      onClick={() => {
                        const target = stages[index + 1];
                        if (target) move.mutate({ id: lead.id, stageId: target.id });
                      }}
                    >
                      →
                    </button>
                  </div>
                </article>
              ))}
            </section>
          );
        })}
      </div>
    </>
  );
}

export function LeadsBoard() {
  const { t } = useI18n();
  const tenantId = useTenantId();
  const pipelines = useQuery({
    queryKey: keys.scoped(tenantId, 'pipelines'),
    queryFn: () => trpc.crm.pipelines.list.query({ limit: 100 }),
  });
  const [selected, setSelected] = useState<string | null>(null);
  const list = pipelines.data?.items ?? [];
  const pipeline = list.find((p) => p.id === selected) ?? list[0];
  return (
    <>
      <PageTitle>{t('Leads')}</PageTitle>
      <CrmTabs />
      <Section title={t('Board')}>
        {pipelines.isPending ? (
          <Loading />
        ) : pipelines.isError ? (
          <ErrorState error={pipelines.error} />
        ) : !pipeline ? (
          <>
            <Empty>{t('No pipeline yet. Create one to start tracking leads.')}</Empty>
            <NewPipeline />
          </>
        ) : (
          <>
            {list.length > 1 && (
              <Field label={t('Pipeline')}>
                {(p) => (
                  <select {...p} value={pipeline.id} onChange={(e) => setSelected(e.target.value)}>
                    {list.map((pl) => (
                      <option key={pl.id} value={pl.id}>
                        {pl.name}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            )}
            <Board key={pipeline.id} pipeline={pipeline} />
          </>
        )}
      </Section>
    </>
  );
}
