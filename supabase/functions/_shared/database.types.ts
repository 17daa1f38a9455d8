export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[];

export type Database = {
  public: {
    Tables: {
      audit_log: {
        Row: {
          action: string;
          actor_id: string | null;
          actor_role: string;
          after: Json | null;
          before: Json | null;
          id: number;
          occurred_at: string;
          org_id: string;
          row_id: string;
          table_name: string;
          transaction_id: number;
        };
        Insert: {
          action: string;
          actor_id?: string | null;
          actor_role: string;
          after?: Json | null;
          before?: Json | null;
          id?: never;
          occurred_at?: string;
          org_id: string;
          row_id: string;
          table_name: string;
          transaction_id?: number;
        };
        Update: {
          action?: string;
          actor_id?: string | null;
          actor_role?: string;
          after?: Json | null;
          before?: Json | null;
          id?: never;
          occurred_at?: string;
          org_id?: string;
          row_id?: string;
          table_name?: string;
          transaction_id?: number;
        };
        Relationships: [];
      };
      campaign_targets: {
        Row: {
          attempts: number;
          body: string | null;
          campaign_id: string;
          claim_token: string | null;
          claimed_at: string | null;
          created_at: string;
          encoding: Database["public"]["Enums"]["message_encoding"] | null;
          id: number;
          last_error_code: number | null;
          lead_id: string;
          lease_expires_at: string | null;
          not_before: string;
          opted_out_at: string | null;
          org_id: string;
          phone: string;
          phone_number_id: string | null;
          replied_at: string | null;
          segments: number | null;
          sent_at: string | null;
          status: string;
          status_reason: string | null;
          template_variant_id: string | null;
          updated_at: string;
        };
        Insert: {
          attempts?: number;
          body?: string | null;
          campaign_id: string;
          claim_token?: string | null;
          claimed_at?: string | null;
          created_at?: string;
          encoding?: Database["public"]["Enums"]["message_encoding"] | null;
          id?: never;
          last_error_code?: number | null;
          lead_id: string;
          lease_expires_at?: string | null;
          not_before?: string;
          opted_out_at?: string | null;
          org_id: string;
          phone: string;
          phone_number_id?: string | null;
          replied_at?: string | null;
          segments?: number | null;
          sent_at?: string | null;
          status?: string;
          status_reason?: string | null;
          template_variant_id?: string | null;
          updated_at?: string;
        };
        Update: {
          attempts?: number;
          body?: string | null;
          campaign_id?: string;
          claim_token?: string | null;
          claimed_at?: string | null;
          created_at?: string;
          encoding?: Database["public"]["Enums"]["message_encoding"] | null;
          id?: never;
          last_error_code?: number | null;
          lead_id?: string;
          lease_expires_at?: string | null;
          not_before?: string;
          opted_out_at?: string | null;
          org_id?: string;
          phone?: string;
          phone_number_id?: string | null;
          replied_at?: string | null;
          segments?: number | null;
          sent_at?: string | null;
          status?: string;
          status_reason?: string | null;
          template_variant_id?: string | null;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "campaign_targets_campaign_fkey";
            columns: ["org_id", "campaign_id"];
            isOneToOne: false;
            referencedRelation: "campaigns";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "campaign_targets_lead_fkey";
            columns: ["org_id", "lead_id"];
            isOneToOne: false;
            referencedRelation: "leads";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "campaign_targets_template_variant_fkey";
            columns: ["org_id", "template_variant_id"];
            isOneToOne: false;
            referencedRelation: "template_variants";
            referencedColumns: ["org_id", "id"];
          },
        ];
      };
      campaigns: {
        Row: {
          audience: Json;
          auto_paused_at: string | null;
          canceled_at: string | null;
          completed_at: string | null;
          created_at: string;
          created_by: string | null;
          description: string | null;
          guarded_since: string | null;
          id: string;
          name: string;
          org_id: string;
          paused_at: string | null;
          rotation_strategy: Database["public"]["Enums"]["rotation_strategy"];
          scheduled_at: string | null;
          send_days: number[];
          send_window_end: string;
          send_window_start: string;
          started_at: string | null;
          status: string;
          status_reason: string | null;
          template_id: string | null;
          updated_at: string;
        };
        Insert: {
          audience?: Json;
          auto_paused_at?: string | null;
          canceled_at?: string | null;
          completed_at?: string | null;
          created_at?: string;
          created_by?: string | null;
          description?: string | null;
          guarded_since?: string | null;
          id?: string;
          name: string;
          org_id: string;
          paused_at?: string | null;
          rotation_strategy?: Database["public"]["Enums"]["rotation_strategy"];
          scheduled_at?: string | null;
          send_days?: number[];
          send_window_end?: string;
          send_window_start?: string;
          started_at?: string | null;
          status?: string;
          status_reason?: string | null;
          template_id?: string | null;
          updated_at?: string;
        };
        Update: {
          audience?: Json;
          auto_paused_at?: string | null;
          canceled_at?: string | null;
          completed_at?: string | null;
          created_at?: string;
          created_by?: string | null;
          description?: string | null;
          guarded_since?: string | null;
          id?: string;
          name?: string;
          org_id?: string;
          paused_at?: string | null;
          rotation_strategy?: Database["public"]["Enums"]["rotation_strategy"];
          scheduled_at?: string | null;
          send_days?: number[];
          send_window_end?: string;
          send_window_start?: string;
          started_at?: string | null;
          status?: string;
          status_reason?: string | null;
          template_id?: string | null;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "campaigns_created_by_fkey";
            columns: ["created_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "campaigns_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "campaigns_template_fkey";
            columns: ["org_id", "template_id"];
            isOneToOne: false;
            referencedRelation: "templates";
            referencedColumns: ["org_id", "id"];
          },
        ];
      };
      consent_events: {
        Row: {
          channel: Database["public"]["Enums"]["consent_channel"];
          created_at: string;
          id: number;
          kind: Database["public"]["Enums"]["consent_kind"];
          lead_id: string | null;
          occurred_at: string;
          org_id: string;
          phone: string;
          raw_text: string | null;
          recorded_by: string | null;
          source: string | null;
        };
        Insert: {
          channel: Database["public"]["Enums"]["consent_channel"];
          created_at?: string;
          id?: never;
          kind: Database["public"]["Enums"]["consent_kind"];
          lead_id?: string | null;
          occurred_at?: string;
          org_id: string;
          phone: string;
          raw_text?: string | null;
          recorded_by?: string | null;
          source?: string | null;
        };
        Update: {
          channel?: Database["public"]["Enums"]["consent_channel"];
          created_at?: string;
          id?: never;
          kind?: Database["public"]["Enums"]["consent_kind"];
          lead_id?: string | null;
          occurred_at?: string;
          org_id?: string;
          phone?: string;
          raw_text?: string | null;
          recorded_by?: string | null;
          source?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "consent_events_lead_fkey";
            columns: ["org_id", "lead_id"];
            isOneToOne: false;
            referencedRelation: "leads";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "consent_events_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "consent_events_recorded_by_fkey";
            columns: ["recorded_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
        ];
      };
      conversations: {
        Row: {
          assignee_id: string | null;
          created_at: string;
          id: string;
          last_message_at: string | null;
          lead_id: string;
          org_id: string;
          phone_number_id: string;
          status: string;
          unread_count: number;
          updated_at: string;
        };
        Insert: {
          assignee_id?: string | null;
          created_at?: string;
          id?: string;
          last_message_at?: string | null;
          lead_id: string;
          org_id: string;
          phone_number_id: string;
          status?: string;
          unread_count?: number;
          updated_at?: string;
        };
        Update: {
          assignee_id?: string | null;
          created_at?: string;
          id?: string;
          last_message_at?: string | null;
          lead_id?: string;
          org_id?: string;
          phone_number_id?: string;
          status?: string;
          unread_count?: number;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "conversations_assignee_fkey";
            columns: ["org_id", "assignee_id"];
            isOneToOne: false;
            referencedRelation: "memberships";
            referencedColumns: ["org_id", "user_id"];
          },
          {
            foreignKeyName: "conversations_lead_fkey";
            columns: ["org_id", "lead_id"];
            isOneToOne: false;
            referencedRelation: "leads";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "conversations_phone_number_fkey";
            columns: ["org_id", "phone_number_id"];
            isOneToOne: false;
            referencedRelation: "phone_numbers";
            referencedColumns: ["org_id", "id"];
          },
        ];
      };
      delivery_problems: {
        Row: {
          created_at: string;
          error_code: number;
          id: number;
          kind: string;
          lead_id: string | null;
          message_id: string;
          occurred_at: string;
          org_id: string;
          phone_number_id: string | null;
        };
        Insert: {
          created_at?: string;
          error_code: number;
          id?: never;
          kind: string;
          lead_id?: string | null;
          message_id: string;
          occurred_at: string;
          org_id: string;
          phone_number_id?: string | null;
        };
        Update: {
          created_at?: string;
          error_code?: number;
          id?: never;
          kind?: string;
          lead_id?: string | null;
          message_id?: string;
          occurred_at?: string;
          org_id?: string;
          phone_number_id?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "delivery_problems_lead_fkey";
            columns: ["org_id", "lead_id"];
            isOneToOne: false;
            referencedRelation: "leads";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "delivery_problems_message_id_fkey";
            columns: ["message_id"];
            isOneToOne: true;
            referencedRelation: "messages";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "delivery_problems_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "delivery_problems_phone_number_fkey";
            columns: ["org_id", "phone_number_id"];
            isOneToOne: false;
            referencedRelation: "phone_numbers";
            referencedColumns: ["org_id", "id"];
          },
        ];
      };
      dnc_lists: {
        Row: {
          added: number;
          id: string;
          kind: Database["public"]["Enums"]["dnc_list_kind"];
          leads_flagged: number;
          loaded_at: string;
          loaded_by: string | null;
          name: string;
          numbers: number;
          org_id: string;
          source: string | null;
          targets_skipped: number;
        };
        Insert: {
          added?: number;
          id?: string;
          kind: Database["public"]["Enums"]["dnc_list_kind"];
          leads_flagged?: number;
          loaded_at?: string;
          loaded_by?: string | null;
          name: string;
          numbers?: number;
          org_id: string;
          source?: string | null;
          targets_skipped?: number;
        };
        Update: {
          added?: number;
          id?: string;
          kind?: Database["public"]["Enums"]["dnc_list_kind"];
          leads_flagged?: number;
          loaded_at?: string;
          loaded_by?: string | null;
          name?: string;
          numbers?: number;
          org_id?: string;
          source?: string | null;
          targets_skipped?: number;
        };
        Relationships: [
          {
            foreignKeyName: "dnc_lists_loaded_by_fkey";
            columns: ["loaded_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "dnc_lists_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
        ];
      };
      invitations: {
        Row: {
          accepted_at: string | null;
          accepted_by: string | null;
          created_at: string;
          email: string;
          expires_at: string;
          id: string;
          invited_by: string | null;
          org_id: string;
          role: Database["public"]["Enums"]["member_role"];
        };
        Insert: {
          accepted_at?: string | null;
          accepted_by?: string | null;
          created_at?: string;
          email: string;
          expires_at?: string;
          id?: string;
          invited_by?: string | null;
          org_id: string;
          role: Database["public"]["Enums"]["member_role"];
        };
        Update: {
          accepted_at?: string | null;
          accepted_by?: string | null;
          created_at?: string;
          email?: string;
          expires_at?: string;
          id?: string;
          invited_by?: string | null;
          org_id?: string;
          role?: Database["public"]["Enums"]["member_role"];
        };
        Relationships: [
          {
            foreignKeyName: "invitations_accepted_by_fkey";
            columns: ["accepted_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "invitations_invited_by_fkey";
            columns: ["invited_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "invitations_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
        ];
      };
      lead_import_errors: {
        Row: {
          field: string;
          import_id: string;
          message: string;
          org_id: string;
          row_number: number;
          value: string | null;
        };
        Insert: {
          field: string;
          import_id: string;
          message: string;
          org_id: string;
          row_number: number;
          value?: string | null;
        };
        Update: {
          field?: string;
          import_id?: string;
          message?: string;
          org_id?: string;
          row_number?: number;
          value?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "lead_import_errors_import_fkey";
            columns: ["org_id", "import_id"];
            isOneToOne: false;
            referencedRelation: "lead_imports";
            referencedColumns: ["org_id", "id"];
          },
        ];
      };
      lead_import_rows: {
        Row: {
          cells: Json;
          import_id: string;
          org_id: string;
          row_number: number;
        };
        Insert: {
          cells: Json;
          import_id: string;
          org_id: string;
          row_number: number;
        };
        Update: {
          cells?: Json;
          import_id?: string;
          org_id?: string;
          row_number?: number;
        };
        Relationships: [];
      };
      lead_imports: {
        Row: {
          all_or_nothing: boolean;
          columns: string[];
          completed_at: string | null;
          created_at: string;
          created_by: string | null;
          delimiter: string | null;
          duplicates: number;
          encoding: string | null;
          error: string | null;
          error_count: number;
          file_name: string;
          has_header: boolean;
          id: string;
          inserted: number;
          invalid: number;
          mapping: Json | null;
          on_duplicate: string | null;
          org_id: string;
          processed_rows: number;
          result: Json | null;
          row_count: number;
          started_at: string | null;
          status: Database["public"]["Enums"]["import_status"];
          suppressed: number;
          tags: string[];
          updated: number;
          updated_at: string;
        };
        Insert: {
          all_or_nothing?: boolean;
          columns?: string[];
          completed_at?: string | null;
          created_at?: string;
          created_by?: string | null;
          delimiter?: string | null;
          duplicates?: number;
          encoding?: string | null;
          error?: string | null;
          error_count?: number;
          file_name: string;
          has_header?: boolean;
          id?: string;
          inserted?: number;
          invalid?: number;
          mapping?: Json | null;
          on_duplicate?: string | null;
          org_id: string;
          processed_rows?: number;
          result?: Json | null;
          row_count?: number;
          started_at?: string | null;
          status?: Database["public"]["Enums"]["import_status"];
          suppressed?: number;
          tags?: string[];
          updated?: number;
          updated_at?: string;
        };
        Update: {
          all_or_nothing?: boolean;
          columns?: string[];
          completed_at?: string | null;
          created_at?: string;
          created_by?: string | null;
          delimiter?: string | null;
          duplicates?: number;
          encoding?: string | null;
          error?: string | null;
          error_count?: number;
          file_name?: string;
          has_header?: boolean;
          id?: string;
          inserted?: number;
          invalid?: number;
          mapping?: Json | null;
          on_duplicate?: string | null;
          org_id?: string;
          processed_rows?: number;
          result?: Json | null;
          row_count?: number;
          started_at?: string | null;
          status?: Database["public"]["Enums"]["import_status"];
          suppressed?: number;
          tags?: string[];
          updated?: number;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "lead_imports_created_by_fkey";
            columns: ["created_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "lead_imports_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
        ];
      };
      leads: {
        Row: {
          address: string | null;
          city: string | null;
          consent_captured_at: string | null;
          consent_evidence: string | null;
          consent_source: string | null;
          created_at: string;
          created_by: string | null;
          custom_fields: Json;
          email: string | null;
          first_name: string | null;
          id: string;
          import_id: string | null;
          last_name: string | null;
          notes: string | null;
          org_id: string;
          phone: string;
          phone_number_id: string | null;
          phone_time_zone: string | null;
          state: string | null;
          status: string;
          suppressed: boolean;
          tags: string[];
          time_zone: string | null;
          updated_at: string;
          zip: string | null;
          zip_time_zone: string | null;
        };
        Insert: {
          address?: string | null;
          city?: string | null;
          consent_captured_at?: string | null;
          consent_evidence?: string | null;
          consent_source?: string | null;
          created_at?: string;
          created_by?: string | null;
          custom_fields?: Json;
          email?: string | null;
          first_name?: string | null;
          id?: string;
          import_id?: string | null;
          last_name?: string | null;
          notes?: string | null;
          org_id: string;
          phone: string;
          phone_number_id?: string | null;
          phone_time_zone?: string | null;
          state?: string | null;
          status?: string;
          suppressed?: boolean;
          tags?: string[];
          time_zone?: string | null;
          updated_at?: string;
          zip?: string | null;
          zip_time_zone?: string | null;
        };
        Update: {
          address?: string | null;
          city?: string | null;
          consent_captured_at?: string | null;
          consent_evidence?: string | null;
          consent_source?: string | null;
          created_at?: string;
          created_by?: string | null;
          custom_fields?: Json;
          email?: string | null;
          first_name?: string | null;
          id?: string;
          import_id?: string | null;
          last_name?: string | null;
          notes?: string | null;
          org_id?: string;
          phone?: string;
          phone_number_id?: string | null;
          phone_time_zone?: string | null;
          state?: string | null;
          status?: string;
          suppressed?: boolean;
          tags?: string[];
          time_zone?: string | null;
          updated_at?: string;
          zip?: string | null;
          zip_time_zone?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "leads_created_by_fkey";
            columns: ["created_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "leads_import_fkey";
            columns: ["org_id", "import_id"];
            isOneToOne: false;
            referencedRelation: "lead_imports";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "leads_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "leads_phone_number_fkey";
            columns: ["org_id", "phone_number_id"];
            isOneToOne: false;
            referencedRelation: "phone_numbers";
            referencedColumns: ["org_id", "id"];
          },
        ];
      };
      memberships: {
        Row: {
          created_at: string;
          org_id: string;
          role: Database["public"]["Enums"]["member_role"];
          updated_at: string;
          user_id: string;
        };
        Insert: {
          created_at?: string;
          org_id: string;
          role: Database["public"]["Enums"]["member_role"];
          updated_at?: string;
          user_id: string;
        };
        Update: {
          created_at?: string;
          org_id?: string;
          role?: Database["public"]["Enums"]["member_role"];
          updated_at?: string;
          user_id?: string;
        };
        Relationships: [
          {
            foreignKeyName: "memberships_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "memberships_user_id_fkey";
            columns: ["user_id"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
        ];
      };
      messages: {
        Row: {
          auto_reply: string | null;
          body: string | null;
          campaign_id: string | null;
          campaign_target_id: number | null;
          canceled_at: string | null;
          claim_token: string | null;
          conversation_id: string | null;
          counts_as_opt_out: boolean;
          counts_as_reply: boolean;
          created_at: string;
          delivered_at: string | null;
          direction: Database["public"]["Enums"]["message_direction"];
          encoding: Database["public"]["Enums"]["message_encoding"] | null;
          erased_at: string | null;
          error_code: number | null;
          error_message: string | null;
          failed_at: string | null;
          from_phone: string | null;
          id: string;
          intent: string | null;
          lead_id: string | null;
          lease_expires_at: string | null;
          not_before: string | null;
          org_id: string;
          phone_number_id: string | null;
          price: number | null;
          price_unit: string | null;
          received_at: string | null;
          segments: number | null;
          send_attempts: number;
          send_state: string | null;
          sent_at: string | null;
          sent_by: string | null;
          status: Database["public"]["Enums"]["message_status"];
          status_times: Json;
          template_variant_id: string | null;
          to_phone: string | null;
          twilio_sid: string | null;
          updated_at: string;
        };
        Insert: {
          auto_reply?: string | null;
          body?: string | null;
          campaign_id?: string | null;
          campaign_target_id?: number | null;
          canceled_at?: string | null;
          claim_token?: string | null;
          conversation_id?: string | null;
          counts_as_opt_out?: boolean;
          counts_as_reply?: boolean;
          created_at?: string;
          delivered_at?: string | null;
          direction?: Database["public"]["Enums"]["message_direction"];
          encoding?: Database["public"]["Enums"]["message_encoding"] | null;
          erased_at?: string | null;
          error_code?: number | null;
          error_message?: string | null;
          failed_at?: string | null;
          from_phone?: string | null;
          id?: string;
          intent?: string | null;
          lead_id?: string | null;
          lease_expires_at?: string | null;
          not_before?: string | null;
          org_id: string;
          phone_number_id?: string | null;
          price?: number | null;
          price_unit?: string | null;
          received_at?: string | null;
          segments?: number | null;
          send_attempts?: number;
          send_state?: string | null;
          sent_at?: string | null;
          sent_by?: string | null;
          status?: Database["public"]["Enums"]["message_status"];
          status_times?: Json;
          template_variant_id?: string | null;
          to_phone?: string | null;
          twilio_sid?: string | null;
          updated_at?: string;
        };
        Update: {
          auto_reply?: string | null;
          body?: string | null;
          campaign_id?: string | null;
          campaign_target_id?: number | null;
          canceled_at?: string | null;
          claim_token?: string | null;
          conversation_id?: string | null;
          counts_as_opt_out?: boolean;
          counts_as_reply?: boolean;
          created_at?: string;
          delivered_at?: string | null;
          direction?: Database["public"]["Enums"]["message_direction"];
          encoding?: Database["public"]["Enums"]["message_encoding"] | null;
          erased_at?: string | null;
          error_code?: number | null;
          error_message?: string | null;
          failed_at?: string | null;
          from_phone?: string | null;
          id?: string;
          intent?: string | null;
          lead_id?: string | null;
          lease_expires_at?: string | null;
          not_before?: string | null;
          org_id?: string;
          phone_number_id?: string | null;
          price?: number | null;
          price_unit?: string | null;
          received_at?: string | null;
          segments?: number | null;
          send_attempts?: number;
          send_state?: string | null;
          sent_at?: string | null;
          sent_by?: string | null;
          status?: Database["public"]["Enums"]["message_status"];
          status_times?: Json;
          template_variant_id?: string | null;
          to_phone?: string | null;
          twilio_sid?: string | null;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "messages_campaign_fkey";
            columns: ["org_id", "campaign_id"];
            isOneToOne: false;
            referencedRelation: "campaigns";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "messages_campaign_target_fkey";
            columns: ["org_id", "campaign_target_id"];
            isOneToOne: false;
            referencedRelation: "campaign_targets";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "messages_conversation_fkey";
            columns: ["org_id", "conversation_id"];
            isOneToOne: false;
            referencedRelation: "conversations";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "messages_lead_fkey";
            columns: ["org_id", "lead_id"];
            isOneToOne: false;
            referencedRelation: "leads";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "messages_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "messages_phone_number_fkey";
            columns: ["org_id", "phone_number_id"];
            isOneToOne: false;
            referencedRelation: "phone_numbers";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "messages_sent_by_fkey";
            columns: ["sent_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "messages_template_variant_fkey";
            columns: ["org_id", "template_variant_id"];
            isOneToOne: false;
            referencedRelation: "template_variants";
            referencedColumns: ["org_id", "id"];
          },
        ];
      };
      metric_rollups: {
        Row: {
          bucket: string | null;
          campaign_id: string | null;
          cost: number;
          delivered: number;
          dimension: string;
          failed: number;
          filtered: number;
          id: number;
          inbound: number;
          opt_outs: number;
          org_id: string;
          phone_number_id: string | null;
          replies: number;
          segments: number;
          sent: number;
          template_variant_id: string | null;
          undelivered: number;
        };
        Insert: {
          bucket?: string | null;
          campaign_id?: string | null;
          cost?: number;
          delivered?: number;
          dimension: string;
          failed?: number;
          filtered?: number;
          id?: never;
          inbound?: number;
          opt_outs?: number;
          org_id: string;
          phone_number_id?: string | null;
          replies?: number;
          segments?: number;
          sent?: number;
          template_variant_id?: string | null;
          undelivered?: number;
        };
        Update: {
          bucket?: string | null;
          campaign_id?: string | null;
          cost?: number;
          delivered?: number;
          dimension?: string;
          failed?: number;
          filtered?: number;
          id?: never;
          inbound?: number;
          opt_outs?: number;
          org_id?: string;
          phone_number_id?: string | null;
          replies?: number;
          segments?: number;
          sent?: number;
          template_variant_id?: string | null;
          undelivered?: number;
        };
        Relationships: [
          {
            foreignKeyName: "metric_rollups_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
        ];
      };
      organizations: {
        Row: {
          admin_count: number;
          auto_pause_filtered_rate: number | null;
          auto_pause_min_sample: number;
          auto_pause_opt_out_rate: number | null;
          auto_pause_window: string;
          campaign_message_interval: string;
          created_at: string;
          default_country: string;
          help_text: string | null;
          id: string;
          lead_daily_cap: number | null;
          max_messages_per_minute: number | null;
          max_segments: number;
          name: string;
          opt_out_keywords: string[];
          opt_out_text: string;
          rate_limit_burst: number;
          rate_limit_per_minute: number;
          slug: string;
          smart_encoding: boolean;
          updated_at: string;
        };
        Insert: {
          admin_count?: number;
          auto_pause_filtered_rate?: number | null;
          auto_pause_min_sample?: number;
          auto_pause_opt_out_rate?: number | null;
          auto_pause_window?: string;
          campaign_message_interval?: string;
          created_at?: string;
          default_country?: string;
          help_text?: string | null;
          id?: string;
          lead_daily_cap?: number | null;
          max_messages_per_minute?: number | null;
          max_segments?: number;
          name: string;
          opt_out_keywords?: string[];
          opt_out_text?: string;
          rate_limit_burst?: number;
          rate_limit_per_minute?: number;
          slug: string;
          smart_encoding?: boolean;
          updated_at?: string;
        };
        Update: {
          admin_count?: number;
          auto_pause_filtered_rate?: number | null;
          auto_pause_min_sample?: number;
          auto_pause_opt_out_rate?: number | null;
          auto_pause_window?: string;
          campaign_message_interval?: string;
          created_at?: string;
          default_country?: string;
          help_text?: string | null;
          id?: string;
          lead_daily_cap?: number | null;
          max_messages_per_minute?: number | null;
          max_segments?: number;
          name?: string;
          opt_out_keywords?: string[];
          opt_out_text?: string;
          rate_limit_burst?: number;
          rate_limit_per_minute?: number;
          slug?: string;
          smart_encoding?: boolean;
          updated_at?: string;
        };
        Relationships: [];
      };
      phone_numbers: {
        Row: {
          created_at: string;
          daily_cap: number | null;
          friendly_name: string | null;
          health: Database["public"]["Enums"]["number_health"];
          health_checked_at: string | null;
          health_score: number | null;
          health_since: string | null;
          id: string;
          messages_per_second: number;
          messaging_service_sid: string | null;
          org_id: string;
          phone: string;
          status: string;
          twilio_sid: string;
          updated_at: string;
        };
        Insert: {
          created_at?: string;
          daily_cap?: number | null;
          friendly_name?: string | null;
          health?: Database["public"]["Enums"]["number_health"];
          health_checked_at?: string | null;
          health_score?: number | null;
          health_since?: string | null;
          id?: string;
          messages_per_second?: number;
          messaging_service_sid?: string | null;
          org_id: string;
          phone: string;
          status?: string;
          twilio_sid: string;
          updated_at?: string;
        };
        Update: {
          created_at?: string;
          daily_cap?: number | null;
          friendly_name?: string | null;
          health?: Database["public"]["Enums"]["number_health"];
          health_checked_at?: string | null;
          health_score?: number | null;
          health_since?: string | null;
          id?: string;
          messages_per_second?: number;
          messaging_service_sid?: string | null;
          org_id?: string;
          phone?: string;
          status?: string;
          twilio_sid?: string;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "phone_numbers_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
        ];
      };
      privacy_requests: {
        Row: {
          id: string;
          kind: string;
          org_id: string;
          phone_digest: string;
          reason: string | null;
          requested_at: string;
          requested_by: string | null;
          summary: Json;
        };
        Insert: {
          id?: string;
          kind: string;
          org_id: string;
          phone_digest: string;
          reason?: string | null;
          requested_at?: string;
          requested_by?: string | null;
          summary?: Json;
        };
        Update: {
          id?: string;
          kind?: string;
          org_id?: string;
          phone_digest?: string;
          reason?: string | null;
          requested_at?: string;
          requested_by?: string | null;
          summary?: Json;
        };
        Relationships: [
          {
            foreignKeyName: "privacy_requests_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "privacy_requests_requested_by_fkey";
            columns: ["requested_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
        ];
      };
      profiles: {
        Row: {
          created_at: string;
          email: string | null;
          full_name: string | null;
          id: string;
          updated_at: string;
        };
        Insert: {
          created_at?: string;
          email?: string | null;
          full_name?: string | null;
          id: string;
          updated_at?: string;
        };
        Update: {
          created_at?: string;
          email?: string | null;
          full_name?: string | null;
          id?: string;
          updated_at?: string;
        };
        Relationships: [];
      };
      suppressions: {
        Row: {
          created_at: string;
          created_by: string | null;
          dnc_list_id: string | null;
          id: string;
          lift_reason: string | null;
          lifted_at: string | null;
          lifted_by: string | null;
          org_id: string;
          phone: string;
          reason: string | null;
          source: Database["public"]["Enums"]["suppression_source"];
          updated_at: string;
        };
        Insert: {
          created_at?: string;
          created_by?: string | null;
          dnc_list_id?: string | null;
          id?: string;
          lift_reason?: string | null;
          lifted_at?: string | null;
          lifted_by?: string | null;
          org_id: string;
          phone: string;
          reason?: string | null;
          source: Database["public"]["Enums"]["suppression_source"];
          updated_at?: string;
        };
        Update: {
          created_at?: string;
          created_by?: string | null;
          dnc_list_id?: string | null;
          id?: string;
          lift_reason?: string | null;
          lifted_at?: string | null;
          lifted_by?: string | null;
          org_id?: string;
          phone?: string;
          reason?: string | null;
          source?: Database["public"]["Enums"]["suppression_source"];
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "suppressions_created_by_fkey";
            columns: ["created_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "suppressions_dnc_list_fkey";
            columns: ["org_id", "dnc_list_id"];
            isOneToOne: false;
            referencedRelation: "dnc_lists";
            referencedColumns: ["org_id", "id"];
          },
          {
            foreignKeyName: "suppressions_lifted_by_fkey";
            columns: ["lifted_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "suppressions_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
        ];
      };
      template_variants: {
        Row: {
          body: string;
          created_at: string;
          id: string;
          label: string;
          org_id: string;
          position: number;
          template_id: string;
          updated_at: string;
          weight: number;
        };
        Insert: {
          body: string;
          created_at?: string;
          id?: string;
          label: string;
          org_id: string;
          position?: number;
          template_id: string;
          updated_at?: string;
          weight?: number;
        };
        Update: {
          body?: string;
          created_at?: string;
          id?: string;
          label?: string;
          org_id?: string;
          position?: number;
          template_id?: string;
          updated_at?: string;
          weight?: number;
        };
        Relationships: [
          {
            foreignKeyName: "template_variants_template_fkey";
            columns: ["org_id", "template_id"];
            isOneToOne: false;
            referencedRelation: "templates";
            referencedColumns: ["org_id", "id"];
          },
        ];
      };
      templates: {
        Row: {
          archived_at: string | null;
          created_at: string;
          created_by: string | null;
          description: string | null;
          id: string;
          name: string;
          org_id: string;
          updated_at: string;
        };
        Insert: {
          archived_at?: string | null;
          created_at?: string;
          created_by?: string | null;
          description?: string | null;
          id?: string;
          name: string;
          org_id: string;
          updated_at?: string;
        };
        Update: {
          archived_at?: string | null;
          created_at?: string;
          created_by?: string | null;
          description?: string | null;
          id?: string;
          name?: string;
          org_id?: string;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "templates_created_by_fkey";
            columns: ["created_by"];
            isOneToOne: false;
            referencedRelation: "profiles";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "templates_org_id_fkey";
            columns: ["org_id"];
            isOneToOne: false;
            referencedRelation: "organizations";
            referencedColumns: ["id"];
          },
        ];
      };
    };
    Views: {
      sender_status: {
        Row: {
          cron_failures_last_hour: number | null;
          due_targets: number | null;
          inbound_last_5_minutes: number | null;
          last_tick_age_seconds: number | null;
          last_tick_started_at: string | null;
          oldest_due_at: string | null;
          org_id: string | null;
          pg_net_failures_last_hour: number | null;
          pg_net_queue_depth: number | null;
          scheduled: boolean | null;
          stale: boolean | null;
          status_callbacks_last_5_minutes: number | null;
          ticks_failed_last_hour: number | null;
          ticks_last_hour: number | null;
        };
        Relationships: [];
      };
    };
    Functions: {
      accept_invitation: {
        Args: { invitation_id: string };
        Returns: {
          created_at: string;
          org_id: string;
          role: Database["public"]["Enums"]["member_role"];
          updated_at: string;
          user_id: string;
        };
        SetofOptions: {
          from: "*";
          to: "memberships";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      campaign_analytics: { Args: { campaign_id: string }; Returns: Json };
      campaign_forecast: {
        Args: { at?: string; campaign_id: string };
        Returns: Json;
      };
      cancel_campaign: {
        Args: { campaign_id: string; reason?: string };
        Returns: {
          audience: Json;
          auto_paused_at: string | null;
          canceled_at: string | null;
          completed_at: string | null;
          created_at: string;
          created_by: string | null;
          description: string | null;
          guarded_since: string | null;
          id: string;
          name: string;
          org_id: string;
          paused_at: string | null;
          rotation_strategy: Database["public"]["Enums"]["rotation_strategy"];
          scheduled_at: string | null;
          send_days: number[];
          send_window_end: string;
          send_window_start: string;
          started_at: string | null;
          status: string;
          status_reason: string | null;
          template_id: string | null;
          updated_at: string;
        };
        SetofOptions: {
          from: "*";
          to: "campaigns";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      create_organization: {
        Args: { name: string; slug: string };
        Returns: {
          admin_count: number;
          auto_pause_filtered_rate: number | null;
          auto_pause_min_sample: number;
          auto_pause_opt_out_rate: number | null;
          auto_pause_window: string;
          campaign_message_interval: string;
          created_at: string;
          default_country: string;
          help_text: string | null;
          id: string;
          lead_daily_cap: number | null;
          max_messages_per_minute: number | null;
          max_segments: number;
          name: string;
          opt_out_keywords: string[];
          opt_out_text: string;
          rate_limit_burst: number;
          rate_limit_per_minute: number;
          slug: string;
          smart_encoding: boolean;
          updated_at: string;
        };
        SetofOptions: {
          from: "*";
          to: "organizations";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      dashboard_metrics: {
        Args: { from_at: string; org_id?: string; to_at: string };
        Returns: Json;
      };
      erase_lead: { Args: { lead_id: string; reason?: string }; Returns: Json };
      export_phone_data: {
        Args: { org_id?: string; phone: string };
        Returns: Json;
      };
      invite_member: {
        Args: {
          email: string;
          org_id: string;
          role: Database["public"]["Enums"]["member_role"];
        };
        Returns: {
          accepted_at: string | null;
          accepted_by: string | null;
          created_at: string;
          email: string;
          expires_at: string;
          id: string;
          invited_by: string | null;
          org_id: string;
          role: Database["public"]["Enums"]["member_role"];
        };
        SetofOptions: {
          from: "*";
          to: "invitations";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      lift_suppression: {
        Args: { reason: string; suppression_id: string };
        Returns: {
          created_at: string;
          created_by: string | null;
          dnc_list_id: string | null;
          id: string;
          lift_reason: string | null;
          lifted_at: string | null;
          lifted_by: string | null;
          org_id: string;
          phone: string;
          reason: string | null;
          source: Database["public"]["Enums"]["suppression_source"];
          updated_at: string;
        };
        SetofOptions: {
          from: "*";
          to: "suppressions";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      load_dnc_list: {
        Args: {
          kind: Database["public"]["Enums"]["dnc_list_kind"];
          name: string;
          org_id: string;
          phones: string[];
          source?: string;
        };
        Returns: Json;
      };
      normalize_phone: {
        Args: { org_id?: string; phone: string };
        Returns: string;
      };
      pause_campaign: {
        Args: { campaign_id: string; reason?: string };
        Returns: {
          audience: Json;
          auto_paused_at: string | null;
          canceled_at: string | null;
          completed_at: string | null;
          created_at: string;
          created_by: string | null;
          description: string | null;
          guarded_since: string | null;
          id: string;
          name: string;
          org_id: string;
          paused_at: string | null;
          rotation_strategy: Database["public"]["Enums"]["rotation_strategy"];
          scheduled_at: string | null;
          send_days: number[];
          send_window_end: string;
          send_window_start: string;
          started_at: string | null;
          status: string;
          status_reason: string | null;
          template_id: string | null;
          updated_at: string;
        };
        SetofOptions: {
          from: "*";
          to: "campaigns";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      phone_numbers: {
        Args: {
          target: Database["public"]["Tables"]["campaign_targets"]["Row"];
        };
        Returns: {
          created_at: string;
          daily_cap: number | null;
          friendly_name: string | null;
          health: Database["public"]["Enums"]["number_health"];
          health_checked_at: string | null;
          health_score: number | null;
          health_since: string | null;
          id: string;
          messages_per_second: number;
          messaging_service_sid: string | null;
          org_id: string;
          phone: string;
          status: string;
          twilio_sid: string;
          updated_at: string;
        };
        SetofOptions: {
          from: "campaign_targets";
          to: "phone_numbers";
          isOneToOne: true;
          isSetofReturn: true;
        };
      };
      preview_template: {
        Args: {
          first_message?: boolean;
          lead_id?: string;
          seed?: number;
          variant_id: string;
        };
        Returns: Json;
      };
      restore_number_health: {
        Args: { phone_number_id: string };
        Returns: {
          created_at: string;
          daily_cap: number | null;
          friendly_name: string | null;
          health: Database["public"]["Enums"]["number_health"];
          health_checked_at: string | null;
          health_score: number | null;
          health_since: string | null;
          id: string;
          messages_per_second: number;
          messaging_service_sid: string | null;
          org_id: string;
          phone: string;
          status: string;
          twilio_sid: string;
          updated_at: string;
        };
        SetofOptions: {
          from: "*";
          to: "phone_numbers";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      resume_campaign: {
        Args: { campaign_id: string };
        Returns: {
          audience: Json;
          auto_paused_at: string | null;
          canceled_at: string | null;
          completed_at: string | null;
          created_at: string;
          created_by: string | null;
          description: string | null;
          guarded_since: string | null;
          id: string;
          name: string;
          org_id: string;
          paused_at: string | null;
          rotation_strategy: Database["public"]["Enums"]["rotation_strategy"];
          scheduled_at: string | null;
          send_days: number[];
          send_window_end: string;
          send_window_start: string;
          started_at: string | null;
          status: string;
          status_reason: string | null;
          template_id: string | null;
          updated_at: string;
        };
        SetofOptions: {
          from: "*";
          to: "campaigns";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      schedule_campaign: {
        Args: { at: string; campaign_id: string };
        Returns: {
          audience: Json;
          auto_paused_at: string | null;
          canceled_at: string | null;
          completed_at: string | null;
          created_at: string;
          created_by: string | null;
          description: string | null;
          guarded_since: string | null;
          id: string;
          name: string;
          org_id: string;
          paused_at: string | null;
          rotation_strategy: Database["public"]["Enums"]["rotation_strategy"];
          scheduled_at: string | null;
          send_days: number[];
          send_window_end: string;
          send_window_start: string;
          started_at: string | null;
          status: string;
          status_reason: string | null;
          template_id: string | null;
          updated_at: string;
        };
        SetofOptions: {
          from: "*";
          to: "campaigns";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      start_campaign: {
        Args: { campaign_id: string };
        Returns: {
          audience: Json;
          auto_paused_at: string | null;
          canceled_at: string | null;
          completed_at: string | null;
          created_at: string;
          created_by: string | null;
          description: string | null;
          guarded_since: string | null;
          id: string;
          name: string;
          org_id: string;
          paused_at: string | null;
          rotation_strategy: Database["public"]["Enums"]["rotation_strategy"];
          scheduled_at: string | null;
          send_days: number[];
          send_window_end: string;
          send_window_start: string;
          started_at: string | null;
          status: string;
          status_reason: string | null;
          template_id: string | null;
          updated_at: string;
        };
        SetofOptions: {
          from: "*";
          to: "campaigns";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      why_not_sent: { Args: { at?: string; target_id: number }; Returns: Json };
    };
    Enums: {
      campaign_status:
        | "draft"
        | "scheduled"
        | "running"
        | "paused"
        | "completed"
        | "canceled";
      consent_channel:
        | "sms"
        | "web_form"
        | "import"
        | "manual"
        | "phone_call"
        | "other";
      consent_kind: "captured" | "revoked";
      conversation_status: "open" | "closed";
      dnc_list_kind:
        | "national_registry"
        | "state_registry"
        | "internal"
        | "litigator";
      import_status: "staged" | "executing" | "completed" | "failed";
      lead_status:
        | "new"
        | "contacted"
        | "replied"
        | "interested"
        | "not_interested"
        | "converted"
        | "invalid";
      member_role: "admin" | "campaign_manager" | "operator" | "viewer";
      message_direction: "inbound" | "outbound";
      message_encoding: "gsm7" | "ucs2";
      message_status:
        | "queued"
        | "accepted"
        | "sending"
        | "sent"
        | "delivered"
        | "undelivered"
        | "failed"
        | "canceled"
        | "received";
      metric_dimension:
        | "org_hour"
        | "campaign_day"
        | "campaign_5min"
        | "variant"
        | "number_hour"
        | "campaign_number";
      number_health: "unknown" | "good" | "moderate" | "poor";
      phone_number_status: "active" | "paused" | "disabled";
      rotation_strategy: "round_robin" | "weighted" | "ab_test";
      suppression_source:
        | "recipient_stop"
        | "manual"
        | "dnc"
        | "carrier"
        | "invalid";
      target_status:
        | "pending"
        | "claimed"
        | "unknown"
        | "sent"
        | "skipped"
        | "failed"
        | "canceled";
    };
    CompositeTypes: {
      [_ in never]: never;
    };
  };
};

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">;

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">];

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof (
      & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
      & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"]
    )
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals;
} ? (
    & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"]
  )[TableName] extends {
    Row: infer R;
  } ? R
  : never
  : DefaultSchemaTableNameOrOptions extends keyof (
    & DefaultSchema["Tables"]
    & DefaultSchema["Views"]
  ) ? (
      & DefaultSchema["Tables"]
      & DefaultSchema["Views"]
    )[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R;
    } ? R
    : never
  : never;

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals;
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends
    {
      Insert: infer I;
    } ? I
  : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I;
    } ? I
    : never
  : never;

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals;
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends
    {
      Update: infer U;
    } ? U
  : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U;
    } ? U
    : never
  : never;

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals;
} ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never;

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals;
} ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][
    CompositeTypeName
  ]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never;

export const Constants = {
  public: {
    Enums: {
      campaign_status: [
        "draft",
        "scheduled",
        "running",
        "paused",
        "completed",
        "canceled",
      ],
      consent_channel: [
        "sms",
        "web_form",
        "import",
        "manual",
        "phone_call",
        "other",
      ],
      consent_kind: ["captured", "revoked"],
      conversation_status: ["open", "closed"],
      dnc_list_kind: [
        "national_registry",
        "state_registry",
        "internal",
        "litigator",
      ],
      import_status: ["staged", "executing", "completed", "failed"],
      lead_status: [
        "new",
        "contacted",
        "replied",
        "interested",
        "not_interested",
        "converted",
        "invalid",
      ],
      member_role: ["admin", "campaign_manager", "operator", "viewer"],
      message_direction: ["inbound", "outbound"],
      message_encoding: ["gsm7", "ucs2"],
      message_status: [
        "queued",
        "accepted",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "canceled",
        "received",
      ],
      metric_dimension: [
        "org_hour",
        "campaign_day",
        "campaign_5min",
        "variant",
        "number_hour",
        "campaign_number",
      ],
      number_health: ["unknown", "good", "moderate", "poor"],
      phone_number_status: ["active", "paused", "disabled"],
      rotation_strategy: ["round_robin", "weighted", "ab_test"],
      suppression_source: [
        "recipient_stop",
        "manual",
        "dnc",
        "carrier",
        "invalid",
      ],
      target_status: [
        "pending",
        "claimed",
        "unknown",
        "sent",
        "skipped",
        "failed",
        "canceled",
      ],
    },
  },
} as const;
