package mail_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/mail"
)

// Compose a payment-scheduled email and deliver it into a pickup folder,
// the embedded default. In production the URL is smtp:// or smtps://.
func Example() {
	dir, _ := os.MkdirTemp("", "outbox")
	defer os.RemoveAll(dir)

	sender, err := mail.Open("pickup://"+dir, mail.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer sender.Close()

	composer := mail.Composer{
		From:    mail.Address{Name: "Drafter Auto Finance", Email: "payments@drafter.example"},
		ReplyTo: mail.Address{Name: "Customer Care", Email: "care@drafter.example"},
		Company: "Drafter Auto Finance",
		Phone:   "1-800-555-0142",
		Portal:  "https://my.drafter.example",
	}
	msg, err := composer.PaymentScheduled(mail.Envelope{
		ID:   "outbox-42.payment-scheduled@drafter.example", // from the outbox row
		To:   mail.Address{Name: "Zoë Ñúñez", Email: "zoe@example.com"},
		Date: time.Date(2026, 11, 24, 6, 30, 0, 0, time.UTC),
	}, mail.PaymentScheduled{
		Account:     mail.Mask("7700123454321"),
		Amount:      52317,
		BankAccount: mail.Mask("000123456789"),
		DebitDate:   civil.MustParse("2026-11-27"),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := sender.Send(context.Background(), msg); err != nil {
		log.Fatalf("send (permanent: %v): %v", mail.IsPermanent(err), err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	fmt.Println(msg.Subject)
	fmt.Println(filepath.Base(files[0]))
	// Output:
	// Drafter Auto Finance: we will debit $523.17 on November 27, 2026
	// outbox-42.payment-scheduled@drafter.example.eml
}
