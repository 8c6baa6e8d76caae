package portfolio

// Word lists for Generate. They mix plain ASCII names with the letters real
// extracts carry (é, ñ, ø, ß, ł, Vietnamese diacritics) so that every consumer
// of generated data meets them.

var firstNames = []string{
	"James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda",
	"William", "Elizabeth", "Richard", "Barbara", "Joseph", "Susan", "Thomas",
	"Jessica", "Christopher", "Sarah", "Daniel", "Karen", "Matthew", "Nancy",
	"Anthony", "Lisa", "Mark", "Betty", "DeShawn", "Aaliyah", "Mary-Kate", "Jean-Luc",
	"José", "María", "Zoë", "Chloé", "Renée", "André", "Søren", "Bjørn", "Jürgen",
	"Łukasz", "Małgorzata", "Siobhán", "François", "Inés", "Begoña", "Iñaki",
	"Øystein", "Åsa", "Ayşe", "Çağrı", "Thị Ánh", "Đức Thắng", "Thu Hương",
	"Minh Phương", "Văn Dũng", "Ngọc Hân", "Quỳnh", "Hoàng Long", "Mohammed",
	"Priya", "Wei", "Min-jun", "Seo-yeon", "Gonçalo", "Joaquín", "Ramón", "Sofía",
	"Lucía", "Noémie", "Anaïs", "Dagný", "Þór", "Žofie", "Jiří",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
	"Rodriguez", "Martinez", "Hernández", "López", "González", "Wilson", "Anderson",
	"Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "O'Connor", "O'Brien",
	"Núñez", "Peña", "Muñoz", "Gutiérrez", "Ibáñez", "Müller", "Weiß", "Strauß",
	"Groß", "Nørgaard", "Østergaard", "Kowalski", "Wiśniewski", "Dvořák",
	"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ",
	"Kim", "Park", "Chen", "Wang", "Singh", "Patel", "García-Márquez",
	"van der Berg", "St. John", "Fitzgerald", "Øvergård", "Çelik", "Yılmaz",
	"Ólafsdóttir", "Brontë", "Saint-Exupéry", "Washington", "Jefferson",
}

// longNameParts build surnames near MaxNameLen runes.
var longNameParts = []string{
	"de la Santísima Trinidad", "Fernández", "Villaverde", "y", "Montenegro",
	"Castañeda", "de los Ríos", "Echeverría", "Wolfeschlegelsteinhausen",
	"Nguyễn Phúc", "Ålesund-Brødrene", "Ruiz-Picasso", "Zúñiga", "Bergström",
}

var streetNames = []string{
	"Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Washington Blvd",
	"Lincoln Ave", "Park Pl", "Sunset Blvd", "Lakeview Dr", "Calle Peñasco",
	"Camino del Río", "Paseo de Peralta", "Cañada Rd", "Avenida de la Constitución",
	"Rue Saint-Honoré", "Björk Ln", "Mañana Dr", "Bolsa Ave", "Phố Hiến Way",
	"Martin Luther King Jr Blvd", "Old Country Rd", "Ridgeway Ct", "Chestnut St",
	"Forêt Ct", "Søndergade Loop",
}

// longStreetParts build address lines near MaxAddressLineLen runes.
var longStreetParts = []string{
	"Avenida", "de", "los", "Descubridores", "y", "Conquistadores", "Españoles",
	"Boulevard", "Nuestra", "Señora", "Reina", "de", "los", "Ángeles", "Porciúncula",
	"Extension", "Building", "Suite", "Northwest", "Industrial", "Park", "Frontage",
}

var line2s = []string{"Apt 1", "Apt 4B", "Unit 12", "Suite 300", "# 7", "Apt 2C", "Fl 3", "Unit 1204", "Lot 44"}

type city struct {
	name, state, zip3 string
	taxBPS            int // sales tax on lease payments, basis points
}

var cities = []city{
	{"New York", "NY", "100", 888}, {"Brooklyn", "NY", "112", 888},
	{"Los Angeles", "CA", "900", 950}, {"San José", "CA", "951", 938},
	{"Garden Grove", "CA", "928", 775}, {"Westminster", "CA", "926", 775},
	{"Española", "NM", "875", 818}, {"Albuquerque", "NM", "871", 788},
	{"Cañon City", "CO", "812", 690}, {"Denver", "CO", "802", 881},
	{"Houston", "TX", "770", 625}, {"San Antonio", "TX", "782", 625},
	{"Chicago", "IL", "606", 1025}, {"Phoenix", "AZ", "850", 860},
	{"Tucson", "AZ", "857", 870}, {"Philadelphia", "PA", "191", 800},
	{"Miami", "FL", "331", 700}, {"Orlando", "FL", "328", 650},
	{"Atlanta", "GA", "303", 890}, {"Seattle", "WA", "981", 1035},
	{"Portland", "OR", "972", 0}, {"Boston", "MA", "021", 625},
	{"Detroit", "MI", "482", 600}, {"Minneapolis", "MN", "554", 903},
	{"Coeur d'Alene", "ID", "838", 600}, {"Boise", "ID", "837", 600},
	{"Newark", "NJ", "071", 663}, {"Charlotte", "NC", "282", 725},
	{"Nashville", "TN", "372", 925}, {"Columbus", "OH", "432", 800},
	{"Las Vegas", "NV", "891", 838}, {"Salt Lake City", "UT", "841", 775},
	{"Anchorage", "AK", "995", 0}, {"Honolulu", "HI", "968", 450},
	{"San Juan", "PR", "009", 1150}, {"Washington", "DC", "200", 600},
	{"Portland", "ME", "041", 550}, {"Wilmington", "DE", "198", 0},
	{"Billings", "MT", "591", 0}, {"Manchester", "NH", "031", 0},
	{"Omaha", "NE", "681", 700}, {"Des Moines", "IA", "503", 700},
	{"Milwaukee", "WI", "532", 550}, {"Kansas City", "MO", "641", 885},
	{"Louisville", "KY", "402", 600}, {"Birmingham", "AL", "352", 1000},
	{"Jackson", "MS", "392", 800}, {"Little Rock", "AR", "722", 913},
	{"Oklahoma City", "OK", "731", 863}, {"Cheyenne", "WY", "820", 600},
	{"Fargo", "ND", "581", 750}, {"Sioux Falls", "SD", "571", 620},
	{"Burlington", "VT", "054", 700}, {"Providence", "RI", "029", 700},
	{"Hartford", "CT", "061", 635}, {"Baltimore", "MD", "212", 600},
	{"Richmond", "VA", "232", 600}, {"Charleston", "WV", "253", 700},
	{"Columbia", "SC", "292", 800}, {"Indianapolis", "IN", "462", 700},
	{"New Orleans", "LA", "701", 945}, {"Wichita", "KS", "672", 750},
}

var emailDomains = []string{"example.com", "example.net", "example.org", "mail.example.com"}

// routingPrefixes are the first eight digits of real-looking routing
// numbers; Generate completes each with ach.RoutingCheckDigit.
var routingPrefixes = []string{
	"02100002", "02600959", "12100035", "11100061", "12100024", "04400003",
	"07100001", "02200030", "06100015", "12200066", "09100001", "06200001",
	"05300021", "25607497", "21127445", "02100008", "03100020", "32207117",
	"26307175", "10100004", "11300002", "07200080", "08100001", "29197000",
}

type vehicleModel struct {
	make, model, wmi string
	msrpK            int // typical price, thousands of dollars
}

var vehicleModels = []vehicleModel{
	{"Toyota", "Camry", "4T1", 30}, {"Toyota", "RAV4", "2T3", 33}, {"Toyota", "Tacoma", "3TM", 38},
	{"Honda", "Civic", "2HG", 26}, {"Honda", "CR-V", "7FA", 34}, {"Honda", "Accord", "1HG", 30},
	{"Ford", "F-150", "1FT", 52}, {"Ford", "Mustang Mach-E", "3FM", 48}, {"Ford", "Escape", "1FM", 31},
	{"Chevrolet", "Silverado 1500", "1GC", 50}, {"Chevrolet", "Equinox", "3GN", 30},
	{"Tesla", "Model 3", "5YJ", 42}, {"Tesla", "Model Y", "7SA", 48},
	{"Hyundai", "Elantra", "5NP", 23}, {"Hyundai", "Ioniq 5", "KM8", 45},
	{"Kia", "Telluride", "5XY", 42}, {"Kia", "Sportage", "KND", 30},
	{"Nissan", "Altima", "1N4", 28}, {"Nissan", "Rogue", "JN8", 31},
	{"Subaru", "Outback", "4S4", 33}, {"Subaru", "Forester", "JF2", 31},
	{"BMW", "X5", "5UX", 68}, {"BMW", "3 Series", "WBA", 46},
	{"Mercedes-Benz", "GLC 300", "W1N", 50}, {"Volkswagen", "Jetta", "3VW", 24},
	{"Volkswagen", "Tiguan", "3VV", 31}, {"Jeep", "Grand Cherokee", "1C4", 45},
	{"Ram", "1500", "1C6", 52}, {"Mazda", "CX-5", "JM3", 31}, {"Lexus", "RX 350", "2T2", 52},
	{"Audi", "Q5", "WA1", 48}, {"Volvo", "XC60", "YV4", 48},
}

// vinYearCodes maps model years from 2010 to position 10 of a VIN.
const vinYearCodes = "ABCDEFGHJKLMNPRSTVWXY"

// vinChars are the characters a VIN may hold.
const vinChars = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
