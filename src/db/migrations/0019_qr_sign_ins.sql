CREATE TABLE "app"."qr_sign_ins" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"poll_hash" text NOT NULL,
	"approve_hash" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"user_id" uuid,
	"requester_ip" text,
	"requester_agent" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"approved_at" timestamp with time zone,
	"used_at" timestamp with time zone,
	CONSTRAINT "qr_sign_ins_status_check" CHECK (status in ('pending', 'approved', 'used')),
	CONSTRAINT "qr_sign_ins_user_check" CHECK ((status = 'pending') = (user_id is null))
);
--> statement-breakpoint
ALTER TABLE "app"."qr_sign_ins" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "app"."qr_sign_ins" ADD CONSTRAINT "qr_sign_ins_user_fk" FOREIGN KEY ("user_id") REFERENCES "auth"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "qr_sign_ins_poll_hash_key" ON "app"."qr_sign_ins" USING btree ("poll_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "qr_sign_ins_approve_hash_key" ON "app"."qr_sign_ins" USING btree ("approve_hash");--> statement-breakpoint
CREATE INDEX "qr_sign_ins_expires_idx" ON "app"."qr_sign_ins" USING btree ("expires_at");--> statement-breakpoint
CREATE POLICY "qr_sign_ins_presented_select" ON "app"."qr_sign_ins" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (poll_hash = nullif(current_setting('app.qr_poll_hash', true), '') or approve_hash = nullif(current_setting('app.qr_approve_hash', true), ''));--> statement-breakpoint
CREATE POLICY "qr_sign_ins_presented_insert" ON "app"."qr_sign_ins" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (poll_hash = nullif(current_setting('app.qr_poll_hash', true), '') and status = 'pending' and user_id is null);--> statement-breakpoint
CREATE POLICY "qr_sign_ins_presented_update" ON "app"."qr_sign_ins" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (poll_hash = nullif(current_setting('app.qr_poll_hash', true), '') or approve_hash = nullif(current_setting('app.qr_approve_hash', true), '')) WITH CHECK (poll_hash = nullif(current_setting('app.qr_poll_hash', true), '') or approve_hash = nullif(current_setting('app.qr_approve_hash', true), ''));