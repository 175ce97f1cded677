/**
 * The API operations the screens use, one function per operation (named after its
 * operationId). Paths and types come from the generated schema.d.ts: a path or field that
 * the backend renames is a type error here, not a broken screen.
 */
import { call, client, upload, urlOf, type Schemas, type UploadProgress } from "./client";

export { ApiError, onSignedOut, type UploadProgress } from "./client";

export type Me = Schemas["MeOut"];
export type OrderStatus = Schemas["OrderStatus"];
export type OrderSummary = Schemas["OrderSummary"];
export type OrderPage = Schemas["Page_organisatrice.orders.schemas.OrderSummary_"];
export type OrderDetail = Schemas["OrderDetail"];
export type OrderRecipient = Schemas["RecipientOut"];
export type Photo = Schemas["PhotoOut"];
export type Template = Schemas["TemplateOut"];
export type TemplateKind = Schemas["TemplateKind"];
export type Draft = Schemas["DraftOut"];
export type DraftPatch = Schemas["DraftPatch"];
export type DraftAttachment = Schemas["DraftAttachment"];
export type Blocks = Schemas["Blocks"];
export type Recipient = Schemas["Recipient"];
export type Recipients = Schemas["Recipients"];
export type Preview = Schemas["PreviewOut"];
export type SentEmail = Schemas["SentEmailOut"];
export type EmailStatus = Schemas["EmailStatus"];
export type Permission = Schemas["Permission"];
export type Role = Schemas["Role"];
export type ArchiveRow = Schemas["ArchiveRow"];
export type ArchivePage = Schemas["ArchivePage"];
export type ArchiveKind = Schemas["ArchiveKind"];
export type ArchiveSort = Schemas["ArchiveSort"];
export type ExportFormat = Schemas["ExportFormat"];
export type ArchiveEntry = Schemas["ArchiveEntryOut"];
export type Note = Schemas["NoteOut"];
export type RecipientState = Schemas["RecipientStateOut"];
export type EmailDetail = Schemas["EmailDetailOut"];
export type OrderHistory = Schemas["OrderHistoryOut"];
export type HandoverIn = Schemas["HandoverIn"];
export type Handover = Schemas["HandoverOut"];
export type Notification = Schemas["NotificationOut"];
export type TemplateIn = Schemas["TemplateIn"];
export type TemplateContent = Schemas["TemplateContent"];
export type TemplatePreview = Schemas["TemplatePreviewOut"];
export type TemplatePatch = Schemas["TemplatePatch"];
export type AttachmentSource = Schemas["AttachmentSource"];
export type Placeholder = Schemas["PlaceholderOut"];
export type Employee = Schemas["EmployeeOut"];
export type EmployeeIn = Schemas["EmployeeIn"];
export type EmployeePatch = Schemas["EmployeePatch"];
export type Company = Schemas["CompanyOut"];
export type Relay = Schemas["RelayOut"];
export type RelayIn = Schemas["RelayIn"];
export type RelayTest = Schemas["RelayTestOut"];
export type RelayFinding = Schemas["RelayFindingOut"];
export type RelayNotice = Schemas["RelayNoticeOut"];
export type Reply = Schemas["ReplyOut"];
export type ConversationEntry = Schemas["ConversationEntryOut"];
export type Tracking = Schemas["TrackingOut"];
export type Quota = Schemas["QuotaOut"];
export type PermissionChange = Schemas["PermissionChangeOut"];
export type PermissionChangePage = Schemas["Page_organisatrice.roles.schemas.PermissionChangeOut_"];
export type Client = Schemas["ClientOut"];
export type ClientDetail = Schemas["ClientDetail"];
export type ClientIn = Schemas["ClientIn"];
export type Building = Schemas["BuildingOut"];
export type BuildingIn = Schemas["BuildingIn"];
export type Contact = Schemas["ContactOut"];
export type ContactIn = Schemas["ContactIn"];
export type Salutation = Schemas["Salutation"];
export type OrderIn = Schemas["OrderIn"];
export type EmployeeRef = Schemas["EmployeeRef"];
export type ApiToken = Schemas["ApiTokenOut"];
export type ApiTokenIn = Schemas["ApiTokenIn"];
export type ApiTokenCreated = Schemas["ApiTokenCreated"];
export type Scope = Schemas["Scope"];
export type RecordKind = Schemas["RecordKind"];
export type BatchMode = Schemas["BatchMode"];
export type ImportSummary = Schemas["ImportSummary"];
export type ImportDetail = Schemas["ImportDetail"];
export type ImportStatus = Schemas["ImportStatus"];
export type ImportCounts = Schemas["ImportCounts"];
export type Webhook = Schemas["WebhookEndpointOut"];
export type WebhookCreated = Schemas["WebhookEndpointCreated"];
export type WebhookIn = Schemas["WebhookEndpointIn"];
export type WebhookPatch = Schemas["WebhookEndpointPatch"];
export type WebhookDelivery = Schemas["WebhookDeliveryOut"];
export type WebhookAttempt = Schemas["WebhookAttemptOut"];
export type EventType = Schemas["EventType"];
export type ReportSignature = Schemas["SignatureOut"];
export type Decision = Schemas["Decision"];

export const EMAIL_STATUSES: readonly EmailStatus[] = [
  "queued",
  "sending",
  "deferred",
  "sent",
  "delayed",
  "delivered",
  "read",
  "failed",
  "bounced",
];

/** Statuses an email leaves by itself: worth asking again in a moment. */
export const MOVING_STATUSES: readonly EmailStatus[] = ["queued", "sending", "deferred"];

export const ARCHIVE_KINDS: readonly ArchiveKind[] = [
  "work_report",
  "photo_documentation",
  "offer",
  "general",
  "reply",
  "proof",
];

/** The kinds of template, in the order the screens list them. */
export const TEMPLATE_KINDS: readonly TemplateKind[] = ["work_report", "photo_documentation", "offer", "general", "reply"];

export type TemplateLanguage = TemplateIn["language"];
export const TEMPLATE_LANGUAGES: readonly TemplateLanguage[] = ["de", "fr", "it", "en"];

export const ARCHIVE_SORTS: readonly ArchiveSort[] = ["newest", "oldest", "order_number", "order_number_desc"];

export const EXPORT_FORMATS: readonly ExportFormat[] = ["xlsx", "csv"];

export const SALUTATIONS: readonly Salutation[] = ["ms", "mr", "none"];

export const SCOPES: readonly Scope[] = [
  "orders:read",
  "orders:write",
  "contacts:write",
  "archive:read",
  "events:manage",
];

export const RECORD_KINDS: readonly RecordKind[] = ["client", "building", "contact", "order"];

export const EVENT_TYPES: readonly EventType[] = [
  "email.queued",
  "email.sent",
  "email.delivered",
  "email.delayed",
  "email.bounced",
  "email.read",
  "email.failed",
  "work_report.sent",
];

export const ROLES: readonly Role[] = ["dispatcher", "coordinator", "technician", "backoffice"];

export const ORDER_STATUSES: readonly OrderStatus[] = [
  "planned",
  "in_progress",
  "completed",
  "invoiced",
  "cancelled",
];

// Session

export const getMe = () => call(client.GET("/api/me"));

export const signIn = (email: string, password: string) =>
  call(client.POST("/api/session", { body: { email, password } }));

export const signOut = () => call(client.DELETE("/api/session"));

/** Change my own password (the current one required); my other sessions end. */
export const changePassword = (currentPassword: string, newPassword: string) =>
  call(client.PUT("/api/me/password", { body: { current_password: currentPassword, new_password: newPassword } }));

/** My own language (de, fr, it, en), for the screens and the server's emails to me. */
export const changeMyLocale = (locale: string) => call(client.PUT("/api/me/locale", { body: { locale } }));

export type PersonalSignature = Schemas["PersonalSignatureOut"];
export type NoticeChoice = Schemas["NoticeChoiceOut"];
export type NoticeKind = Schemas["NoticeKind"];

/** My own signature block (template text) and how a new draft shows it. */
export const getMySignature = () => call(client.GET("/api/me/signature"));
export const changeMySignature = (text: string) => call(client.PUT("/api/me/signature", { body: { text } }));

/** Which notifications I get, and which also by email. */
export const getMyNoticeChoices = () => call(client.GET("/api/me/notices"));
export const changeMyNoticeChoices = (choices: { kind: NoticeKind; shown: boolean; emailed: boolean }[]) =>
  call(client.PUT("/api/me/notices", { body: { choices } }));

/** End every session of mine, this one too (the cookie is cleared). */
export const signOutEverywhere = () => call(client.DELETE("/api/me/sessions"));

/** PUBLIC: set a password with the single-use link of a reset or an invitation. */
export const setPasswordWithLink = (token: string, newPassword: string) =>
  call(client.POST("/api/password", { body: { token, new_password: newPassword } }));

// Orders

export interface OrderQuery {
  q?: string;
  status?: OrderStatus | null;
  page?: number;
  per_page?: number;
}

export const listOrders = (query: OrderQuery) =>
  call(
    client.GET("/api/orders", {
      params: {
        query: {
          q: query.q || undefined,
          status: query.status || undefined,
          page: query.page,
          per_page: query.per_page,
        },
      },
    }),
  );

export const getOrder = (orderId: number) =>
  call(client.GET("/api/orders/{order_id}", { params: { path: { order_id: orderId } } }));

/** Create an order (companies without an ERP); answers the order as GetOrder does. */
export const createOrder = (body: OrderIn) => call(client.POST("/api/orders", { body }));

/** Change an order: absent fields stay, lists given (building_ids, …) replace the order's. */
export const changeOrder = (orderId: number, body: OrderIn) =>
  call(client.PATCH("/api/orders/{order_id}", { params: { path: { order_id: orderId } }, body }));

/** Replace the employees responsible for the order. */
export const setResponsible = (orderId: number, employeeIds: number[]) =>
  call(
    client.PUT("/api/orders/{order_id}/responsible", {
      params: { path: { order_id: orderId } },
      body: { employee_ids: employeeIds },
    }),
  );

// Clients, buildings, contacts

export interface ClientQuery {
  includeInactive?: boolean;
  limit?: number;
}

export const listClients = (q = "", query: ClientQuery = {}) =>
  call(
    client.GET("/api/clients", {
      params: {
        query: {
          q: q || undefined,
          include_inactive: query.includeInactive || undefined,
          limit: query.limit,
        },
      },
    }),
  );

const clientPath = (clientId: number) => ({ params: { path: { client_id: clientId } } });

export const getClient = (clientId: number) => call(client.GET("/api/clients/{client_id}", clientPath(clientId)));

export const createClient = (body: ClientIn) => call(client.POST("/api/clients", { body }));

/** Change a client (absent fields stay); `active: false` deactivates it. */
export const changeClient = (clientId: number, body: ClientIn) =>
  call(client.PATCH("/api/clients/{client_id}", { ...clientPath(clientId), body }));

export const createBuilding = (body: BuildingIn) => call(client.POST("/api/buildings", { body }));

export const changeBuilding = (buildingId: number, body: BuildingIn) =>
  call(
    client.PATCH("/api/buildings/{building_id}", {
      params: { path: { building_id: buildingId } },
      body,
    }),
  );

/** A contact at a client or at one of its buildings (exactly one of client_id, building_id). */
export const createContact = (body: ContactIn) => call(client.POST("/api/contacts", { body }));

/** Change a contact: a corrected email address, say, or `active: false`. */
export const changeContact = (contactId: number, body: ContactIn) =>
  call(
    client.PATCH("/api/contacts/{contact_id}", {
      params: { path: { contact_id: contactId } },
      body,
    }),
  );

/** Upload a photo (with its caption) to the order; `onProgress` follows the bytes sent. The
 * same `uploadKey` sent again (a retry) is answered with the photo the first attempt added. */
export const uploadPhoto = (
  orderId: number,
  file: File,
  caption: string,
  uploadKey: string,
  onProgress?: (sent: number, total: number) => void,
) =>
  upload<Schemas["PhotoOut"]>(
    urlOf("/api/orders/{order_id}/photos", { order_id: orderId }),
    { file, caption, upload_key: uploadKey },
    onProgress,
  );

export const uploadDocument = (
  orderId: number,
  file: File,
  kind: string,
  uploadKey: string,
  onProgress?: (sent: number, total: number) => void,
) =>
  upload<Schemas["DocumentOut"]>(
    urlOf("/api/orders/{order_id}/documents", { order_id: orderId }),
    { file, kind, upload_key: uploadKey },
    onProgress,
  );

/** A client's answer as sent, for a sandboxed frame; remote pictures only with `images`. */
export const replyHtmlUrl = (reply: Reply, images: boolean) =>
  urlOf(
    "/api/orders/{order_id}/replies/{reply_id}/html",
    { order_id: reply.order_id, reply_id: reply.id },
    { images: images ? "true" : null },
  );

/** An attachment of a client's answer, checked as an upload would be. */
export const replyAttachmentUrl = (reply: Reply, index: number) =>
  urlOf("/api/orders/{order_id}/replies/{reply_id}/attachments/{index}", {
    order_id: reply.order_id,
    reply_id: reply.id,
    index,
  });

export const changePhoto = (orderId: number, photoId: number, body: Schemas["PhotoPatch"]) =>
  call(
    client.PATCH("/api/orders/{order_id}/photos/{photo_id}", {
      params: { path: { order_id: orderId, photo_id: photoId } },
      body,
    }),
  );

export const getOrderHistory = (orderId: number) =>
  call(client.GET("/api/orders/{order_id}/history", { params: { path: { order_id: orderId } } }));

export const recordHandover = (orderId: number, body: HandoverIn) =>
  call(
    client.POST("/api/orders/{order_id}/handovers", {
      params: { path: { order_id: orderId } },
      body,
    }),
  );

// The client's signature of the work report

export const getReportSignature = (orderId: number) =>
  call(client.GET("/api/orders/{order_id}/signature", { params: { path: { order_id: orderId } } }));

/** Store the client's signature (the drawing as PNG) and name; the time is the server's. */
export const signReport = (orderId: number, drawing: Blob, signerName: string) =>
  upload<ReportSignature>(urlOf("/api/orders/{order_id}/signature", { order_id: orderId }), {
    file: drawing,
    signer_name: signerName,
  });

// Templates

export const listTemplates = () => call(client.GET("/api/templates"));

const templatePath = (templateId: number) => ({ params: { path: { template_id: templateId } } });

export const getTemplate = (templateId: number) =>
  call(client.GET("/api/templates/{template_id}", templatePath(templateId)));

export const createTemplate = (body: TemplateIn) => call(client.POST("/api/templates", { body }));

export const changeTemplate = (templateId: number, body: TemplatePatch) =>
  call(client.PATCH("/api/templates/{template_id}", { ...templatePath(templateId), body }));

export const duplicateTemplate = (templateId: number) =>
  call(client.POST("/api/templates/{template_id}/duplicate", templatePath(templateId)));

export const deleteTemplate = (templateId: number) =>
  call(client.DELETE("/api/templates/{template_id}", templatePath(templateId)));

export const listPlaceholders = () => call(client.GET("/api/templates/placeholders"));

export const previewTemplate = (body: TemplateContent) =>
  call(client.POST("/api/templates/preview", { body }));

// Drafts

export const listDrafts = (orderId: number) =>
  call(client.GET("/api/orders/{order_id}/drafts", { params: { path: { order_id: orderId } } }));

export const createDraft = (orderId: number, body: Schemas["DraftIn"]) =>
  call(
    client.POST("/api/orders/{order_id}/drafts", {
      params: { path: { order_id: orderId } },
      body,
    }),
  );

const draftPath = (orderId: number, draftId: number) => ({
  params: { path: { order_id: orderId, draft_id: draftId } },
});

export const getDraft = (orderId: number, draftId: number) =>
  call(client.GET("/api/orders/{order_id}/drafts/{draft_id}", draftPath(orderId, draftId)));

export const changeDraft = (orderId: number, draftId: number, body: DraftPatch) =>
  call(
    client.PATCH("/api/orders/{order_id}/drafts/{draft_id}", {
      ...draftPath(orderId, draftId),
      body,
    }),
  );

export const deleteDraft = (orderId: number, draftId: number) =>
  call(client.DELETE("/api/orders/{order_id}/drafts/{draft_id}", draftPath(orderId, draftId)));

export const previewDraft = (orderId: number, draftId: number) =>
  call(
    client.POST("/api/orders/{order_id}/drafts/{draft_id}/preview", draftPath(orderId, draftId)),
  );

export const sendDraft = (orderId: number, draftId: number) =>
  call(client.POST("/api/orders/{order_id}/drafts/{draft_id}/send", draftPath(orderId, draftId)));

/** "Send me a test": the draft's email to the signed-in employee only; the draft stays. */
export const sendProof = (orderId: number, draftId: number) =>
  call(client.POST("/api/orders/{order_id}/drafts/{draft_id}/proof", draftPath(orderId, draftId)));

// Sent emails

export const listOrderEmails = (orderId: number) =>
  call(client.GET("/api/orders/{order_id}/emails", { params: { path: { order_id: orderId } } }));

export const getEmail = (emailId: number) =>
  call(client.GET("/api/emails/{email_id}", { params: { path: { email_id: emailId } } }));

/** Fix and resend: the same email to corrected recipients, as a new archive entry. */
export const resendEmail = (emailId: number, body: Recipients) =>
  call(client.POST("/api/emails/{email_id}/resend", { params: { path: { email_id: emailId } }, body }));

export const listNotifications = () => call(client.GET("/api/notifications"));

/** For back-office: the relay can no longer get an OAuth 2.0 token. */
export const listRelayNotices = () => call(client.GET("/api/notifications/relay"));

/** Clients' answers waiting for someone: to my emails, on my orders. */
export const listReplyNotices = () => call(client.GET("/api/notifications/replies"));

/** What clients answered to the order's emails, oldest first. */
export const listOrderReplies = (orderId: number) =>
  call(client.GET("/api/orders/{order_id}/replies", { params: { path: { order_id: orderId } } }));

/** Someone took care of the answer: it leaves everyone's notifications. */
export const markReplyHandled = (orderId: number, replyId: number) =>
  call(
    client.POST("/api/orders/{order_id}/replies/{reply_id}/handled", {
      params: { path: { order_id: orderId, reply_id: replyId } },
    }),
  );

/** A draft answering the client's reply: to its sender, quoting what they wrote. */
export const answerReply = (orderId: number, replyId: number) =>
  call(
    client.POST("/api/orders/{order_id}/replies/{reply_id}/answer", {
      params: { path: { order_id: orderId, reply_id: replyId } },
      body: {},
    }),
  );

/** Emails sent, clients' replies, hand-overs and internal notes, oldest first. */
export const getOrderConversation = (orderId: number) =>
  call(client.GET("/api/orders/{order_id}/conversation", { params: { path: { order_id: orderId } } }));

// The archive

export interface ArchiveFilters {
  from?: string | null;
  to?: string | null;
  client_id?: number | null;
  kind?: ArchiveKind | null;
  order_number_prefix?: string | null;
  status?: EmailStatus | null;
  recipient?: string | null;
  author_id?: number | null;
  unanswered_reply?: boolean;
}

export const listArchive = (
  filters: ArchiveFilters,
  page: { sort?: ArchiveSort; cursor?: string | null; limit?: number } = {},
) =>
  call(
    client.GET("/api/archive", {
      params: {
        query: {
          from: filters.from || undefined,
          to: filters.to || undefined,
          client_id: filters.client_id || undefined,
          kind: filters.kind || undefined,
          order_number_prefix: filters.order_number_prefix || undefined,
          status: filters.status || undefined,
          recipient: filters.recipient || undefined,
          author_id: filters.author_id || undefined,
          unanswered_reply: filters.unanswered_reply || undefined,
          sort: page.sort,
          cursor: page.cursor || undefined,
          limit: page.limit,
        },
      },
    }),
  );

const entryPath = (emailId: number) => ({ params: { path: { email_id: emailId } } });

export const getArchivedEmail = (emailId: number) =>
  call(client.GET("/api/archive/{email_id}", entryPath(emailId)));

export const addArchiveNote = (emailId: number, text: string) =>
  call(client.POST("/api/archive/{email_id}/notes", { ...entryPath(emailId), body: { text } }));

/** The file name a Content-Disposition header gives (RFC 6266: filename* first). */
export function filenameFromDisposition(header: string | null, fallback: string): string {
  if (!header) return fallback;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // Badly encoded: try the plain name.
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(header);
  return plain?.[1]?.trim() || fallback;
}

/** The coordinators' file (XLSX or CSV) of the work reports sent from `from` to `to` (days,
 * both included); a period without any is refused with the code `no_work_reports`. */
export async function downloadBilling(
  from: string,
  to: string,
  format: ExportFormat,
): Promise<{ blob: Blob; filename: string }> {
  let filename = `billing-${from}-${to}.${format}`;
  const blob = await call(
    client
      .GET("/api/archive/billing", { params: { query: { from, to, format } }, parseAs: "blob" })
      .then((answer) => {
        filename = filenameFromDisposition(answer.response.headers.get("content-disposition"), filename);
        return answer;
      }),
  );
  return { blob: blob as unknown as Blob, filename };
}

// Back-office

export const listEmployees = () => call(client.GET("/api/employees"));

export const createEmployee = (body: EmployeeIn) => call(client.POST("/api/employees", { body }));

export const changeEmployee = (employeeId: number, body: EmployeePatch) =>
  call(
    client.PATCH("/api/employees/{employee_id}", {
      params: { path: { employee_id: employeeId } },
      body,
    }),
  );

export type PasswordLinkPurpose = "reset" | "invitation";

/** Email the employee a single-use 24-hour link to set their password (through the relay). */
export const sendPasswordLink = (employeeId: number, purpose: PasswordLinkPurpose) =>
  call(
    client.POST("/api/employees/{employee_id}/password-link", {
      params: { path: { employee_id: employeeId } },
      body: { purpose },
    }),
  );

export const getCompany = () => call(client.GET("/api/company"));

export type CompanyPatch = Schemas["CompanyPatch"];

export const changeCompany = (body: CompanyPatch) => call(client.PATCH("/api/company", { body }));

/** Set the company logo (PNG or JPEG); `onProgress` follows the bytes sent. */
export const uploadCompanyLogo = (file: File, onProgress?: UploadProgress) =>
  upload<Company>(urlOf("/api/company/logo"), { file }, onProgress);

export const removeCompanyLogo = () => call(client.DELETE("/api/company/logo"));

export const getRelay = () => call(client.GET("/api/mail/relay"));

export const setRelay = (body: RelayIn) => call(client.PUT("/api/mail/relay", { body }));

export const testRelay = () => call(client.POST("/api/mail/relay/test"));

/** The provider's consent page for the relay account (Google Workspace); the browser goes there. */
export const connectRelayAccount = () => call(client.POST("/api/mail/relay/oauth/connect"));

export type RetentionPreview = Schemas["RetentionPreviewOut"];
export type WorkReportState = Schemas["WorkReportStateOut"];

/** The state of each listed order's newest work report; orders without one are left out. */
export const listWorkReportStates = (orderIds: number[]) =>
  call(client.GET("/api/orders/work-reports", { params: { query: { order_id: orderIds } } }));

/** How many archived emails were queued before `olderThan` (an ISO instant): the number to confirm. */
export const previewRetention = (olderThan: string) =>
  call(client.GET("/api/archive/retention", { params: { query: { older_than: olderThan } } }));

/** Delete them, if their number is still the confirmed one. */
export const deleteOldEmails = (olderThan: string, confirmCount: number) =>
  call(client.POST("/api/archive/retention", { body: { older_than: olderThan, confirm_count: confirmCount } }));

export const getQuota = () => call(client.GET("/api/mail/quota"));

/** Whether delivery reports reach the app: the last probe, the daily setting, unattributed reports. */
export const getTracking = () => call(client.GET("/api/mail/tracking"));

export const verifyTracking = () => call(client.POST("/api/mail/tracking/probe"));

export const setTrackingDaily = (daily: boolean) => call(client.PUT("/api/mail/tracking", { body: { daily } }));

export const reportUrl = (reportId: number) => urlOf("/api/mail/reports/{report_id}", { report_id: reportId });

// API tokens

export const listTokens = () => call(client.GET("/api/tokens"));

/** A new token; its secret is in this answer only. */
export const createToken = (body: ApiTokenIn) => call(client.POST("/api/tokens", { body }));

export const revokeToken = (tokenId: number) =>
  call(client.POST("/api/tokens/{token_id}/revoke", { params: { path: { token_id: tokenId } } }));

// Imports

/** Upload a spreadsheet (CSV or XLSX) of one kind of record; nothing is imported yet. */
export const uploadImport = (
  file: File,
  kind: RecordKind,
  mode: BatchMode,
  mapping: (string | null)[] | null,
  onProgress?: UploadProgress,
) =>
  upload<ImportDetail>(
    urlOf("/api/imports"),
    { file, kind, mode, ...(mapping ? { mapping: JSON.stringify(mapping) } : {}) },
    onProgress,
  );

export const listImports = (page = 1, perPage = 25) =>
  call(client.GET("/api/imports", { params: { query: { page, per_page: perPage } } }));

const importPath = (importId: number) => ({ params: { path: { import_id: importId } } });

export const getImport = (importId: number) => call(client.GET("/api/imports/{import_id}", importPath(importId)));

/** A new column mapping or mode; the last check no longer holds. */
export const changeImport = (importId: number, body: Schemas["ImportPatch"]) =>
  call(client.PATCH("/api/imports/{import_id}", { ...importPath(importId), body }));

/** The dry run, in the background: poll getImport. */
export const checkImport = (importId: number) =>
  call(client.POST("/api/imports/{import_id}/check", importPath(importId)));

/** The import itself, in the background: poll getImport. */
export const runImport = (importId: number) => call(client.POST("/api/imports/{import_id}/run", importPath(importId)));

// Webhooks

export const listWebhooks = () => call(client.GET("/api/webhooks"));

/** A new endpoint; its signing secret is in this answer only. */
export const createWebhook = (body: WebhookIn) => call(client.POST("/api/webhooks", { body }));

const webhookPath = (endpointId: number) => ({ params: { path: { endpoint_id: endpointId } } });

/** Change it, or switch it off or on again (`active`, which also resumes a paused one). */
export const changeWebhook = (endpointId: number, body: WebhookPatch) =>
  call(client.PATCH("/api/webhooks/{endpoint_id}", { ...webhookPath(endpointId), body }));

export const deleteWebhook = (endpointId: number) =>
  call(client.DELETE("/api/webhooks/{endpoint_id}", webhookPath(endpointId)));

/** Send a test event now; answers what the endpoint said. */
export const testWebhook = (endpointId: number) =>
  call(client.POST("/api/webhooks/{endpoint_id}/test", webhookPath(endpointId)));

export const listWebhookAttempts = (endpointId: number, page = 1, perPage = 50) =>
  call(
    client.GET("/api/webhooks/{endpoint_id}/attempts", {
      params: { path: { endpoint_id: endpointId }, query: { page, per_page: perPage } },
    }),
  );

export const resendWebhookEvent = (endpointId: number, deliveryId: number) =>
  call(
    client.POST("/api/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend", {
      params: { path: { endpoint_id: endpointId, delivery_id: deliveryId } },
    }),
  );

export const listPermissionChanges = (page: number, perPage = 50) =>
  call(client.GET("/api/permission-changes", { params: { query: { page, per_page: perPage } } }));
